package dev.loupe.flink;

import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.flink.fetch.AddressPolicy;
import dev.loupe.flink.fetch.FetchSettings;
import dev.loupe.flink.fetch.HttpFetchOptions;
import dev.loupe.flink.request.RequestValidator;
import dev.loupe.model.api.TaskDefaults;
import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.apache.flink.configuration.Configuration;

/**
 * The validated, typed settings of {@link AnnotationPipeline}. Read them from a Flink {@link Configuration} with
 * {@link #from(Configuration)} (every option of {@link LoupeOptions}, read once), or set them with a
 * {@link #builder()} (which starts from the options' defaults) or {@link #toBuilder()}. {@link Builder#build()}
 * checks every value and fails with an {@link IllegalArgumentException} naming the option's key, before any job is
 * submitted; an instance is therefore always valid. Immutable and serialisable.
 */
public final class PipelineOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    private final List<String> fileRoots;
    private final int fetchConcurrency;
    private final Duration fetchTimeout;
    private final long fetchMaxBytes;
    private final int batchMaxSize;
    private final Duration batchMaxDelay;
    private final Scheduling scheduling;
    private final DynamicBatcher.Fill batchFill;
    private final long maxPixels;
    private final int maxNewTokensLimit;
    private final int maxBeams;
    private final List<String> allowedHosts;
    private final int maxRedirects;
    private final HttpFetchOptions http;
    private final int thumbnailSize;
    private final int taskNiceness;

    private PipelineOptions(Builder b) {
        this.fileRoots = List.copyOf(b.fileRoots);
        this.fetchConcurrency = b.fetchConcurrency;
        this.fetchTimeout = b.fetchTimeout;
        this.fetchMaxBytes = b.fetchMaxBytes;
        this.batchMaxSize = b.batchMaxSize;
        this.batchMaxDelay = b.batchMaxDelay;
        this.scheduling = b.scheduling;
        this.batchFill = b.batchFill;
        this.maxPixels = b.maxPixels;
        this.maxNewTokensLimit = b.maxNewTokensLimit;
        this.maxBeams = b.maxBeams;
        this.allowedHosts = List.copyOf(b.allowedHosts);
        this.maxRedirects = b.maxRedirects;
        this.http = new HttpFetchOptions(b.fetchMaxAttempts, b.fetchRetryBaseDelay, b.fetchRetryMaxDelay,
                b.fetchMaxPerHost, b.fetchUserAgent);
        this.thumbnailSize = b.thumbnailSize;
        this.taskNiceness = b.taskNiceness;
    }

    /** A builder holding every option's default. */
    public static Builder builder() {
        return new Builder();
    }

    /** Reads every {@link LoupeOptions} option from {@code conf}, using its default when unset, and validates. */
    public static PipelineOptions from(Configuration conf) {
        return builder().configure(conf).build();
    }

    /** Every option at its default. */
    public static PipelineOptions defaults() {
        return builder().build();
    }

    /** A builder holding these settings, to change some of them. */
    public Builder toBuilder() {
        return new Builder()
                .fileRoots(fileRootPaths())
                .fetchConcurrency(fetchConcurrency)
                .fetchTimeout(fetchTimeout)
                .fetchMaxBytes(fetchMaxBytes)
                .batchMaxSize(batchMaxSize)
                .batchMaxDelay(batchMaxDelay)
                .scheduling(scheduling)
                .batchFill(batchFill)
                .thumbnailSize(thumbnailSize)
                .taskNiceness(taskNiceness)
                .maxPixels(maxPixels)
                .maxNewTokensLimit(maxNewTokensLimit)
                .maxBeams(maxBeams)
                .allowedHosts(allowedHosts)
                .maxRedirects(maxRedirects)
                .fetchMaxAttempts(http.maxAttempts())
                .fetchRetryBaseDelay(http.retryBaseDelay())
                .fetchRetryMaxDelay(http.retryMaxDelay())
                .fetchMaxPerHost(http.maxPerHost())
                .fetchUserAgent(http.userAgent());
    }

    /** The allowed folders for file: URIs, as given (strings, because {@link Path} is not serialisable). */
    public List<String> fileRoots() {
        return fileRoots;
    }

    /** The allowed folders for file: URIs, as paths. */
    public List<Path> fileRootPaths() {
        return fileRoots.stream().map(Path::of).toList();
    }

    public int fetchConcurrency() {
        return fetchConcurrency;
    }

    public Duration fetchTimeout() {
        return fetchTimeout;
    }

    public long fetchMaxBytes() {
        return fetchMaxBytes;
    }

    public int batchMaxSize() {
        return batchMaxSize;
    }

    public Duration batchMaxDelay() {
        return batchMaxDelay;
    }

    /** {@link LoupeOptions#BATCH_SCHEDULING}. */
    public Scheduling scheduling() {
        return scheduling;
    }

    /** What {@code batch.max-delay} counts from while the model waits for a batch to fill (see the builder's). */
    public DynamicBatcher.Fill batchFill() {
        return batchFill;
    }

    /** {@link LoupeOptions#TASK_NICENESS}: the nice value of the task threads that read and preprocess images. */
    public int taskNiceness() {
        return taskNiceness;
    }

    /** Longest side of the thumbnails preprocessing makes ({@code Outputs.thumbnails()}); 0: none. */
    public int thumbnailSize() {
        return thumbnailSize;
    }

    public long maxPixels() {
        return maxPixels;
    }

    public int maxNewTokensLimit() {
        return maxNewTokensLimit;
    }

    public int maxBeams() {
        return maxBeams;
    }

    /** Hosts, IPs and CIDR ranges that http(s) fetches may reach although internal (see {@link AddressPolicy}). */
    public List<String> allowedHosts() {
        return allowedHosts;
    }

    public int maxRedirects() {
        return maxRedirects;
    }

    /** How http(s) fetches retry, share hosts and name themselves. */
    public HttpFetchOptions fetchHttp() {
        return http;
    }

    /** The fetch stage's settings. */
    public FetchSettings fetch() {
        return new FetchSettings(fileRoots, fetchMaxBytes, fetchTimeout, allowedHosts, maxRedirects, fetchConcurrency,
                http);
    }

    /** The request validator of this deployment's limits, starting from the model's per-task defaults. */
    public RequestValidator requestValidator(TaskDefaults taskDefaults) {
        return new RequestValidator(maxNewTokensLimit, maxBeams, taskDefaults);
    }

    /**
     * Fluent setters for {@link PipelineOptions}; nothing is checked until {@link #build()}, so values may be set in
     * any order.
     */
    public static final class Builder {
        private List<String> fileRoots = LoupeOptions.FETCH_FILE_ROOTS.defaultValue();
        private int fetchConcurrency = LoupeOptions.FETCH_CONCURRENCY.defaultValue();
        private Duration fetchTimeout = LoupeOptions.FETCH_TIMEOUT.defaultValue();
        private long fetchMaxBytes = LoupeOptions.FETCH_MAX_BYTES.defaultValue().getBytes();
        private int batchMaxSize = LoupeOptions.BATCH_MAX_SIZE.defaultValue();
        private Duration batchMaxDelay = LoupeOptions.BATCH_MAX_DELAY.defaultValue();
        private Scheduling scheduling = LoupeOptions.BATCH_SCHEDULING.defaultValue();
        private DynamicBatcher.Fill batchFill = DynamicBatcher.Fill.OLDEST_WAITED;
        private int thumbnailSize;
        private int taskNiceness = LoupeOptions.TASK_NICENESS.defaultValue();
        private long maxPixels = LoupeOptions.IMAGE_MAX_PIXELS.defaultValue();
        private int maxNewTokensLimit = LoupeOptions.REQUEST_MAX_NEW_TOKENS.defaultValue();
        private int maxBeams = LoupeOptions.REQUEST_MAX_BEAMS.defaultValue();
        private List<String> allowedHosts = LoupeOptions.FETCH_ALLOWED_HOSTS.defaultValue();
        private int maxRedirects = LoupeOptions.FETCH_MAX_REDIRECTS.defaultValue();
        private int fetchMaxAttempts = LoupeOptions.FETCH_MAX_ATTEMPTS.defaultValue();
        private Duration fetchRetryBaseDelay = LoupeOptions.FETCH_RETRY_BASE_DELAY.defaultValue();
        private Duration fetchRetryMaxDelay = LoupeOptions.FETCH_RETRY_MAX_DELAY.defaultValue();
        private int fetchMaxPerHost = LoupeOptions.FETCH_MAX_PER_HOST.defaultValue();
        private String fetchUserAgent = LoupeOptions.FETCH_USER_AGENT.defaultValue();

        private Builder() {}

        /** Sets every option from {@code conf}: the value set there, or the option's default. */
        public Builder configure(Configuration conf) {
            fileRoots = nonBlank(conf.get(LoupeOptions.FETCH_FILE_ROOTS));
            fetchConcurrency = conf.get(LoupeOptions.FETCH_CONCURRENCY);
            fetchTimeout = conf.get(LoupeOptions.FETCH_TIMEOUT);
            fetchMaxBytes = conf.get(LoupeOptions.FETCH_MAX_BYTES).getBytes();
            batchMaxSize = conf.get(LoupeOptions.BATCH_MAX_SIZE);
            batchMaxDelay = conf.get(LoupeOptions.BATCH_MAX_DELAY);
            scheduling = conf.get(LoupeOptions.BATCH_SCHEDULING);
            taskNiceness = conf.get(LoupeOptions.TASK_NICENESS);
            maxPixels = conf.get(LoupeOptions.IMAGE_MAX_PIXELS);
            maxNewTokensLimit = conf.get(LoupeOptions.REQUEST_MAX_NEW_TOKENS);
            maxBeams = conf.get(LoupeOptions.REQUEST_MAX_BEAMS);
            allowedHosts = nonBlank(conf.get(LoupeOptions.FETCH_ALLOWED_HOSTS));
            maxRedirects = conf.get(LoupeOptions.FETCH_MAX_REDIRECTS);
            fetchMaxAttempts = conf.get(LoupeOptions.FETCH_MAX_ATTEMPTS);
            fetchRetryBaseDelay = conf.get(LoupeOptions.FETCH_RETRY_BASE_DELAY);
            fetchRetryMaxDelay = conf.get(LoupeOptions.FETCH_RETRY_MAX_DELAY);
            fetchMaxPerHost = conf.get(LoupeOptions.FETCH_MAX_PER_HOST);
            fetchUserAgent = conf.get(LoupeOptions.FETCH_USER_AGENT);
            return this;
        }

        /** {@link LoupeOptions#FETCH_FILE_ROOTS}: folders that file: URIs may point into (absolute). */
        public Builder fileRoots(List<Path> roots) {
            fileRoots = Objects.requireNonNull(roots, "fileRoots").stream().map(Path::toString).toList();
            return this;
        }

        /** {@link LoupeOptions#FETCH_CONCURRENCY}. */
        public Builder fetchConcurrency(int concurrency) {
            fetchConcurrency = concurrency;
            return this;
        }

        /** {@link LoupeOptions#FETCH_TIMEOUT}. */
        public Builder fetchTimeout(Duration timeout) {
            fetchTimeout = timeout;
            return this;
        }

        /** {@link LoupeOptions#FETCH_MAX_BYTES}. */
        public Builder fetchMaxBytes(long maxBytes) {
            fetchMaxBytes = maxBytes;
            return this;
        }

        /** {@link LoupeOptions#BATCH_MAX_SIZE}. */
        public Builder batchMaxSize(int maxSize) {
            batchMaxSize = maxSize;
            return this;
        }

        /** {@link LoupeOptions#BATCH_MAX_DELAY}. */
        public Builder batchMaxDelay(Duration maxDelay) {
            batchMaxDelay = maxDelay;
            return this;
        }

        /** {@link LoupeOptions#BATCH_SCHEDULING}. */
        public Builder scheduling(Scheduling scheduling) {
            this.scheduling = Objects.requireNonNull(scheduling, "scheduling");
            return this;
        }

        /**
         * What {@code batch.max-delay} counts from while an idle model waits for a static batch to fill: the oldest
         * request's arrival (the default, a latency bound for streams) or the latest's ({@code INPUT_PAUSED}: full
         * batches under a backlog, for bounded jobs). Not a configuration key: a property of the job, which knows
         * whether its input is a stream or all there.
         */
        public Builder batchFill(DynamicBatcher.Fill fill) {
            batchFill = Objects.requireNonNull(fill, "fill");
            return this;
        }

        /**
         * Thumbnails of every image that preprocesses, at most {@code size} pixels on the longest side, made from the
         * decode that feeds the model and emitted on {@code Outputs.thumbnails()} (a job's contact sheet); 0 (the
         * default): none. Not a configuration key: the job that shows thumbnails sets it.
         */
        public Builder thumbnailSize(int size) {
            thumbnailSize = size;
            return this;
        }

        /** {@link LoupeOptions#TASK_NICENESS}. */
        public Builder taskNiceness(int niceness) {
            taskNiceness = niceness;
            return this;
        }

        /** {@link LoupeOptions#IMAGE_MAX_PIXELS}. */
        public Builder maxPixels(long pixels) {
            maxPixels = pixels;
            return this;
        }

        /** {@link LoupeOptions#REQUEST_MAX_NEW_TOKENS}. */
        public Builder maxNewTokensLimit(int limit) {
            maxNewTokensLimit = limit;
            return this;
        }

        /** {@link LoupeOptions#REQUEST_MAX_BEAMS}. */
        public Builder maxBeams(int beams) {
            maxBeams = beams;
            return this;
        }

        /** {@link LoupeOptions#FETCH_ALLOWED_HOSTS}: host names, IP addresses and CIDR ranges. */
        public Builder allowedHosts(List<String> hosts) {
            allowedHosts = List.copyOf(Objects.requireNonNull(hosts, "allowedHosts"));
            return this;
        }

        /** {@link LoupeOptions#FETCH_MAX_REDIRECTS}. */
        public Builder maxRedirects(int redirects) {
            maxRedirects = redirects;
            return this;
        }

        /** {@link LoupeOptions#FETCH_MAX_ATTEMPTS}. */
        public Builder fetchMaxAttempts(int attempts) {
            fetchMaxAttempts = attempts;
            return this;
        }

        /** {@link LoupeOptions#FETCH_RETRY_BASE_DELAY}. */
        public Builder fetchRetryBaseDelay(Duration delay) {
            fetchRetryBaseDelay = delay;
            return this;
        }

        /** {@link LoupeOptions#FETCH_RETRY_MAX_DELAY}. */
        public Builder fetchRetryMaxDelay(Duration delay) {
            fetchRetryMaxDelay = delay;
            return this;
        }

        /** {@link LoupeOptions#FETCH_MAX_PER_HOST}. */
        public Builder fetchMaxPerHost(int requests) {
            fetchMaxPerHost = requests;
            return this;
        }

        /** {@link LoupeOptions#FETCH_USER_AGENT}. */
        public Builder fetchUserAgent(String userAgent) {
            fetchUserAgent = userAgent;
            return this;
        }

        /** @throws IllegalArgumentException naming the key of the first invalid option */
        public PipelineOptions build() {
            sanityCheck();
            return new PipelineOptions(this);
        }

        private void sanityCheck() {
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
            require(thumbnailSize >= 0, "thumbnail size", "must be >= 0, got " + thumbnailSize);
            require(taskNiceness >= 0 && taskNiceness <= 19, LoupeOptions.TASK_NICENESS.key(),
                    "must be 0..19, got " + taskNiceness);
            require(maxPixels >= 1, LoupeOptions.IMAGE_MAX_PIXELS.key(), "must be >= 1, got " + maxPixels);
            require(maxNewTokensLimit >= 1, LoupeOptions.REQUEST_MAX_NEW_TOKENS.key(), "must be >= 1, got " + maxNewTokensLimit);
            require(maxBeams >= 1, LoupeOptions.REQUEST_MAX_BEAMS.key(), "must be >= 1, got " + maxBeams);
            new AddressPolicy(allowedHosts);   // throws IllegalArgumentException naming the option for a bad entry
            require(maxRedirects >= 0, LoupeOptions.FETCH_MAX_REDIRECTS.key(), "must be >= 0, got " + maxRedirects);
            // throws IllegalArgumentException naming the option (max-attempts, retry delays, max-per-host, user-agent)
            new HttpFetchOptions(fetchMaxAttempts, fetchRetryBaseDelay, fetchRetryMaxDelay, fetchMaxPerHost, fetchUserAgent);
        }

        private static List<String> nonBlank(List<String> values) {
            return values.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        }

        private static void require(boolean ok, String key, String message) {
            if (!ok) {
                throw new IllegalArgumentException(key + " " + message);
            }
        }
    }
}
