package dev.loupe.flink.fetch;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Properties;

/**
 * How {@link ImageFetcher} talks to web servers: retries of transient faults (attempts per image, exponential backoff
 * with full jitter between {@code retryBaseDelay} and {@code retryMaxDelay}), the most requests in flight per host, and
 * the {@code User-Agent}. The configuration keys and defaults live here so that the options class can name them.
 */
public record HttpFetchOptions(int maxAttempts, Duration retryBaseDelay, Duration retryMaxDelay, int maxPerHost,
                               String userAgent) implements Serializable {
    public static final String MAX_ATTEMPTS_KEY = "loupe.fetch.max-attempts";
    public static final int DEFAULT_MAX_ATTEMPTS = 4;
    public static final String RETRY_BASE_DELAY_KEY = "loupe.fetch.retry-base-delay";
    public static final Duration DEFAULT_RETRY_BASE_DELAY = Duration.ofMillis(200);
    public static final String RETRY_MAX_DELAY_KEY = "loupe.fetch.retry-max-delay";
    public static final Duration DEFAULT_RETRY_MAX_DELAY = Duration.ofSeconds(5);
    public static final String MAX_PER_HOST_KEY = "loupe.fetch.max-per-host";
    public static final int DEFAULT_MAX_PER_HOST = 4;
    public static final String USER_AGENT_KEY = "loupe.fetch.user-agent";
    /** {@code Loupe/<version> (+image annotation)}, the version being the build's project version. */
    public static final String DEFAULT_USER_AGENT = "Loupe/" + version() + " (+image annotation)";

    /** @throws IllegalArgumentException naming the key of the first invalid value */
    public HttpFetchOptions {
        require(maxAttempts >= 1, MAX_ATTEMPTS_KEY, "must be >= 1, got " + maxAttempts);
        require(retryBaseDelay != null && !retryBaseDelay.isNegative(), RETRY_BASE_DELAY_KEY,
                "must be >= 0, got " + retryBaseDelay);
        require(retryMaxDelay != null && retryMaxDelay.compareTo(retryBaseDelay) >= 0, RETRY_MAX_DELAY_KEY,
                "must be >= " + RETRY_BASE_DELAY_KEY + " (" + retryBaseDelay + "), got " + retryMaxDelay);
        require(maxPerHost >= 1, MAX_PER_HOST_KEY, "must be >= 1, got " + maxPerHost);
        require(userAgent != null && !userAgent.isBlank() && userAgent.chars().allMatch(c -> c >= 0x20 && c < 0x7F),
                USER_AGENT_KEY, "must be non-blank printable ASCII, got '" + userAgent + "'");
    }

    public static HttpFetchOptions defaults() {
        return new HttpFetchOptions(DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BASE_DELAY, DEFAULT_RETRY_MAX_DELAY,
                DEFAULT_MAX_PER_HOST, DEFAULT_USER_AGENT);
    }

    private static void require(boolean ok, String key, String message) {
        if (!ok) {
            throw new IllegalArgumentException(key + " " + message);
        }
    }

    private static String version() {
        Properties p = new Properties();
        try (InputStream in = HttpFetchOptions.class.getResourceAsStream("loupe-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String v = p.getProperty("version", "");
        return v.isBlank() || v.startsWith("${") ? "dev" : v;
    }
}
