package dev.loupe.jobs.bounded;

import java.time.Duration;
import java.util.Locale;

/** Formats {@link Progress} for people: the live line and the pieces of the summary. */
public final class ProgressLine {

    private ProgressLine() {}

    /**
     * One line, e.g. {@code 120/400 images (30%) · 3.2 images/s · 2 failed · ETA 1m27s}; {@code rate} is images/s
     * over the recent past (NaN while unknown).
     */
    public static String of(Progress p, double rate, String unit) {
        StringBuilder line = new StringBuilder();
        line.append(p.done());
        if (p.totalKnown()) {
            line.append('/').append(p.total()).append(' ').append(unit);
            if (p.total() > 0) {
                line.append(" (").append(Math.min(100, p.done() * 100 / p.total())).append("%)");
            }
        } else {
            line.append(' ').append(unit);
        }
        line.append(" · ").append(Double.isNaN(rate) ? "-" : rate(rate)).append(' ').append(unit).append("/s");
        line.append(" · ").append(p.failed()).append(" failed");
        if (p.totalKnown() && !Double.isNaN(rate) && rate > 0 && p.done() < p.total()) {
            line.append(" · ETA ").append(duration(Duration.ofMillis((long) ((p.total() - p.done()) / rate * 1000))));
        }
        return line.toString();
    }

    /** A rate with 2 significant-ish digits: 0.43, 3.2, 125. */
    public static String rate(double perSecond) {
        if (perSecond >= 100) {
            return String.format(Locale.ROOT, "%.0f", perSecond);
        }
        if (perSecond >= 10) {
            return String.format(Locale.ROOT, "%.1f", perSecond);
        }
        return String.format(Locale.ROOT, "%.2f", perSecond);
    }

    /** 4s, 1m27s, 2h03m. */
    public static String duration(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 60) {
            return d.toMillis() < 10_000 && d.toMillis() % 1000 != 0 && s < 10
                    ? String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0) : s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
