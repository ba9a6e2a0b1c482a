package dev.loupe.model.api;

import java.util.Locale;

/**
 * Which of the requests waiting for a continuous batch's free slots join first ({@link AnnotationFeed#admissionOrder}).
 * Shortest first is the default: rows that join together then tend to finish together, so slots free up in whole
 * groups and the decode steps stay fuller (on a CPU a step costs nearly as much with few rows as with many), and a
 * short answer is not held behind the long captions that arrived just before it. Arrival order is strict first come,
 * first served.
 */
public enum AdmissionOrder {
    /** First come, first served. */
    ARRIVAL,
    /**
     * The fewest new tokens to generate (max new tokens) first, ties in order of arrival; a request passed over by a
     * few admissions goes first whatever its length, so long requests still get their turn under a steady stream of
     * short ones.
     */
    SHORTEST_FIRST;

    /** {@code arrival} or {@code shortest-first} ({@code shortest_first}; case ignored). */
    public static AdmissionOrder parse(String s) {
        try {
            return valueOf(s.trim().replace('-', '_').toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("admission order must be arrival or shortest-first, got '" + s + "'");
        }
    }

    /** The name as commands print it ({@code arrival}, {@code shortest-first}). */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
