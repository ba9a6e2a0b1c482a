package dev.loupe.flink.fetch;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Which HTTP answers are worth another attempt, and how long to wait before it: exponential backoff with full jitter
 * (a uniform wait in {@code [0, min(maxDelay, baseDelay * 2^(retry-1))]}), or the server's {@code Retry-After} when it
 * gives one (seconds or an HTTP date) and it is within {@code maxDelay}.
 */
final class RetryPolicy {
    /** Request timeout, too early, too many requests, and the server-side faults that usually pass. */
    static final Set<Integer> TRANSIENT_STATUSES = Set.of(408, 425, 429, 500, 502, 503, 504);

    private final Duration baseDelay;
    private final Duration maxDelay;

    RetryPolicy(Duration baseDelay, Duration maxDelay) {
        this.baseDelay = baseDelay;
        this.maxDelay = maxDelay;
    }

    static boolean isTransient(int status) {
        return TRANSIENT_STATUSES.contains(status);
    }

    Duration maxDelay() {
        return maxDelay;
    }

    /** The jittered backoff before retry number {@code retry} (1 for the first retry). */
    Duration backoff(int retry) {
        long base = baseDelay.toNanos();
        long cap = maxDelay.toNanos();
        int shift = Math.min(Math.max(retry - 1, 0), 62);
        long ceiling = base > (cap >> shift) ? cap : Math.min(cap, base << shift);
        return Duration.ofNanos(ceiling <= 0 ? 0 : ThreadLocalRandom.current().nextLong(ceiling + 1));
    }

    /**
     * A {@code Retry-After} header's wait: delay-seconds or an HTTP date (a date in the past is no wait); empty when
     * absent or unreadable.
     */
    static Optional<Duration> retryAfter(String header, Instant now) {
        if (header == null || header.isBlank()) {
            return Optional.empty();
        }
        String value = header.strip();
        if (value.chars().allMatch(Character::isDigit)) {
            try {
                return Optional.of(Duration.ofSeconds(Long.parseLong(value)));
            } catch (NumberFormatException e) {
                return Optional.of(Duration.ofSeconds(Long.MAX_VALUE / 1_000_000_000L));   // absurdly long: over any cap
            }
        }
        try {
            Instant at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            return Optional.of(at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
