package dev.loupe.flink;

import dev.loupe.flink.fetch.AddressPolicy;
import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.Configuration;

/**
 * The validated, typed settings of {@link AnnotationPipeline}; build with {@link #from(Configuration)} (options in
 * {@link LoupeOptions}) or {@link #defaults()} and the {@code with...} copies. Invalid values fail at construction
 * with an {@link IllegalArgumentException} naming the option, before any job is submitted.
 */
public record PipelineOptions(
        List<String> fileRoots,
        int fetchConcurrency,
        Duration fetchTimeout,
        long fetchMaxBytes,
        int batchMaxSize,
        Duration batchMaxDelay,
        long maxPixels,
        int maxNewTokensLimit,
        int maxBeams,
        List<String> allowedHosts,
        int maxRedirects) implements Serializable {

    public PipelineOptions {
        fileRoots = fileRoots == null ? List.of() : List.copyOf(fileRoots);
        for (String root : fileRoots) {
            require(Path.of(root).isAbsolute(), LoupeOptions.FETCH_FILE_ROOTS.key(), "must be absolute paths, got " + root);
        }
        require(fetchConcurrency >= 1, LoupeOptions.FETCH_CONCURRENCY.key(), "must be >= 1, got " + fetchConcurrency);
        require(fetchTimeout != null && !fetchTimeout.isNegative() && !fetchTimeout.isZero(),
                LoupeOptions.FETCH_TIMEOUT.key(), "must be > 0, got " + fetchTimeout);
        require(fetchMaxBytes >= 1 && fetchMaxBytes <= Integer.MAX_VALUE - 8,
                LoupeOptions.FETCH_MAX_BYTES.key(), "must be in [1 byte, 2 GiB), got " + fetchMaxBytes);
        require(batchMaxSize >= 1, LoupeOptions.BATCH_MAX_SIZE.key(), "must be >= 1, got " + batchMaxSize);
        require(batchMaxDelay != null && !batchMaxDelay.isNegative(),
                LoupeOptions.BATCH_MAX_DELAY.key(), "must be >= 0, got " + batchMaxDelay);
        require(maxPixels >= 1, LoupeOptions.IMAGE_MAX_PIXELS.key(), "must be >= 1, got " + maxPixels);
        require(maxNewTokensLimit >= 1, LoupeOptions.REQUEST_MAX_NEW_TOKENS.key(), "must be >= 1, got " + maxNewTokensLimit);
        require(maxBeams >= 1, LoupeOptions.REQUEST_MAX_BEAMS.key(), "must be >= 1, got " + maxBeams);
        allowedHosts = allowedHosts == null ? List.of() : List.copyOf(allowedHosts);
        new AddressPolicy(allowedHosts);   // throws IllegalArgumentException naming the option for a bad entry
        require(maxRedirects >= 0, LoupeOptions.FETCH_MAX_REDIRECTS.key(), "must be >= 0, got " + maxRedirects);
    }

    /** Reads every {@link LoupeOptions} option, using its default when unset. */
    public static PipelineOptions from(Configuration conf) {
        return new PipelineOptions(
                conf.get(LoupeOptions.FETCH_FILE_ROOTS).stream().map(String::strip).filter(s -> !s.isEmpty()).toList(),
                conf.get(LoupeOptions.FETCH_CONCURRENCY),
                conf.get(LoupeOptions.FETCH_TIMEOUT),
                conf.get(LoupeOptions.FETCH_MAX_BYTES).getBytes(),
                conf.get(LoupeOptions.BATCH_MAX_SIZE),
                conf.get(LoupeOptions.BATCH_MAX_DELAY),
                conf.get(LoupeOptions.IMAGE_MAX_PIXELS),
                conf.get(LoupeOptions.REQUEST_MAX_NEW_TOKENS),
                conf.get(LoupeOptions.REQUEST_MAX_BEAMS),
                conf.get(LoupeOptions.FETCH_ALLOWED_HOSTS).stream().map(String::strip).filter(s -> !s.isEmpty()).toList(),
                conf.get(LoupeOptions.FETCH_MAX_REDIRECTS));
    }

    public static PipelineOptions defaults() {
        return from(new Configuration());
    }

    /** The allowed folders for file: URIs, as paths (kept as strings because Path is not serialisable). */
    public List<Path> fileRootPaths() {
        return fileRoots.stream().map(Path::of).toList();
    }

    public PipelineOptions withFileRoots(List<Path> roots) {
        return new PipelineOptions(roots.stream().map(Path::toString).toList(), fetchConcurrency, fetchTimeout, fetchMaxBytes, batchMaxSize, batchMaxDelay,
                maxPixels, maxNewTokensLimit, maxBeams, allowedHosts, maxRedirects);
    }

    public PipelineOptions withFetch(int concurrency, Duration timeout, long maxBytes) {
        return new PipelineOptions(fileRoots, concurrency, timeout, maxBytes, batchMaxSize, batchMaxDelay,
                maxPixels, maxNewTokensLimit, maxBeams, allowedHosts, maxRedirects);
    }

    public PipelineOptions withBatch(int maxSize, Duration maxDelay) {
        return new PipelineOptions(fileRoots, fetchConcurrency, fetchTimeout, fetchMaxBytes, maxSize, maxDelay,
                maxPixels, maxNewTokensLimit, maxBeams, allowedHosts, maxRedirects);
    }

    /** Hosts, IPs and CIDR ranges that http(s) fetches may reach although internal (see {@link AddressPolicy}). */
    public PipelineOptions withAllowedHosts(List<String> hosts) {
        return new PipelineOptions(fileRoots, fetchConcurrency, fetchTimeout, fetchMaxBytes, batchMaxSize, batchMaxDelay,
                maxPixels, maxNewTokensLimit, maxBeams, hosts, maxRedirects);
    }

    public PipelineOptions withMaxRedirects(int redirects) {
        return new PipelineOptions(fileRoots, fetchConcurrency, fetchTimeout, fetchMaxBytes, batchMaxSize, batchMaxDelay,
                maxPixels, maxNewTokensLimit, maxBeams, allowedHosts, redirects);
    }

    private static void require(boolean ok, String key, String message) {
        if (!ok) {
            throw new IllegalArgumentException(key + " " + message);
        }
    }
}
