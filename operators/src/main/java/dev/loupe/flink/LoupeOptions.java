package dev.loupe.flink;

import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.flink.batch.Scheduling;
import dev.loupe.flink.fetch.AddressPolicy;
import dev.loupe.flink.fetch.HttpFetchOptions;
import dev.loupe.flink.fetch.ImageFetcher;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/**
 * The streaming pipeline's settings as Flink {@link ConfigOption}s, so they are set like any Flink option
 * (flink-conf, {@code -D}, a {@code Configuration}) and documented in one place. Read through {@link PipelineOptions}.
 */
public final class LoupeOptions {
    private LoupeOptions() {}

    public static final ConfigOption<List<String>> FETCH_FILE_ROOTS = ConfigOptions.key("loupe.fetch.file-roots")
            .stringType().asList().defaultValues()
            .withDescription("Folders that file: image URIs may point into (after normalising and resolving"
                    + " symlinks). Empty: every file: URI is refused with PATH_NOT_ALLOWED.");

    public static final ConfigOption<List<String>> FETCH_ALLOWED_HOSTS = ConfigOptions.key(AddressPolicy.ALLOWED_HOSTS_KEY)
            .stringType().asList().defaultValues()
            .withDescription("Host names, IP addresses and CIDR ranges that http(s) image URIs (and their redirects)"
                    + " may reach although internal. By default loopback, private, link-local, carrier-grade NAT,"
                    + " unspecified, multicast and cloud metadata addresses are refused with ADDRESS_NOT_ALLOWED,"
                    + " checked after DNS resolution and on every redirect hop. Example: 127.0.0.1,images.internal,10.20.0.0/16.");

    public static final ConfigOption<Integer> FETCH_MAX_REDIRECTS = ConfigOptions.key(ImageFetcher.MAX_REDIRECTS_KEY)
            .intType().defaultValue(ImageFetcher.DEFAULT_MAX_REDIRECTS)
            .withDescription("Most HTTP redirects one image fetch follows (each target is checked like the first);"
                    + " more, or a redirect loop, fails with FETCH_FAILED. 0: redirects are not followed.");

    public static final ConfigOption<Integer> FETCH_CONCURRENCY = ConfigOptions.key("loupe.fetch.concurrency")
            .intType().defaultValue(16)
            .withDescription("Image fetches in flight per subtask (async I/O capacity and fetch threads).");

    public static final ConfigOption<Duration> FETCH_TIMEOUT = ConfigOptions.key(ImageFetcher.TIMEOUT_KEY)
            .durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Per-request image fetch timeout, covering every attempt, retry wait, redirect and wait for"
                    + " a per-host slot; when it expires the request fails with FETCH_TIMEOUT.");

    public static final ConfigOption<Integer> FETCH_MAX_ATTEMPTS = ConfigOptions.key(HttpFetchOptions.MAX_ATTEMPTS_KEY)
            .intType().defaultValue(HttpFetchOptions.DEFAULT_MAX_ATTEMPTS)
            .withDescription("Most attempts of one http(s) request when it meets transient faults (connect failures,"
                    + " timeouts and resets of one attempt, HTTP 408, 425, 429, 500, 502, 503, 504); 1: no retries."
                    + " Other 4xx fail at once.");

    public static final ConfigOption<Duration> FETCH_RETRY_BASE_DELAY = ConfigOptions.key(HttpFetchOptions.RETRY_BASE_DELAY_KEY)
            .durationType().defaultValue(HttpFetchOptions.DEFAULT_RETRY_BASE_DELAY)
            .withDescription("Backoff before the first retry; it doubles per retry, with full jitter (a uniform wait"
                    + " between 0 and the backoff), up to " + HttpFetchOptions.RETRY_MAX_DELAY_KEY + ".");

    public static final ConfigOption<Duration> FETCH_RETRY_MAX_DELAY = ConfigOptions.key(HttpFetchOptions.RETRY_MAX_DELAY_KEY)
            .durationType().defaultValue(HttpFetchOptions.DEFAULT_RETRY_MAX_DELAY)
            .withDescription("Longest wait between two attempts. A Retry-After (seconds or HTTP date) up to this is"
                    + " honoured; a longer one ends the fetch with FETCH_FAILED at once. A wait that would pass"
                    + " loupe.fetch.timeout also ends it at once.");

    public static final ConfigOption<Integer> FETCH_MAX_PER_HOST = ConfigOptions.key(HttpFetchOptions.MAX_PER_HOST_KEY)
            .intType().defaultValue(HttpFetchOptions.DEFAULT_MAX_PER_HOST)
            .withDescription("Most http(s) requests in flight to one host per subtask, across its fetch pool, so a"
                    + " slow or rate-limiting host cannot take every fetch thread; waiting for a slot counts"
                    + " against loupe.fetch.timeout.");

    public static final ConfigOption<String> FETCH_USER_AGENT = ConfigOptions.key(HttpFetchOptions.USER_AGENT_KEY)
            .stringType().defaultValue(HttpFetchOptions.DEFAULT_USER_AGENT)
            .withDescription("The User-Agent header of image fetches (printable ASCII).");

    public static final ConfigOption<MemorySize> FETCH_MAX_BYTES = ConfigOptions.key("loupe.fetch.max-bytes")
            .memoryType().defaultValue(MemorySize.parse("20mb"))
            .withDescription("Largest encoded image accepted (fetched or inline); larger ones fail with IMAGE_TOO_LARGE.");

    public static final ConfigOption<Integer> BATCH_MAX_SIZE = ConfigOptions.key(DynamicBatcher.MAX_SIZE_KEY)
            .intType().defaultValue(8)
            .withDescription("Requests per inference batch at most. While the model runs a batch, the next one fills up, "
                    + "so under backlog every batch has this many requests.");

    public static final ConfigOption<Duration> BATCH_MAX_DELAY = ConfigOptions.key(DynamicBatcher.MAX_DELAY_KEY)
            .durationType().defaultValue(Duration.ofMillis(50))
            .withDescription("When the model is idle, a non-full batch starts this long after its first request arrived "
                    + "(the latency bound at low load; while the model is busy the batch waits to fill). In the bounded "
                    + "jobs (caption, enrich), whose inputs are all there, it counts from the latest request's arrival "
                    + "instead, and is 1 s there unless set: a partial batch waits while requests keep coming, so every "
                    + "batch but the last is full.");

    public static final ConfigOption<Scheduling> BATCH_SCHEDULING = ConfigOptions.key("batch.scheduling")
            .enumType(Scheduling.class).defaultValue(Scheduling.byDefault())
            .withDescription("How the inference operator schedules the model: static batches formed before generation,"
                    + " or continuous (step-level) batching, where requests join the decoding rows at step boundaries"
                    + " and each result is emitted as soon as its row finishes. Under continuous, batch.max-size is"
                    + " the most rows decoding at once and batch.max-delay how long an idle loop waits to fill its"
                    + " first prefill; beam search and ranking requests keep whole-request batches. Continuous is the"
                    + " default: short answers are not held back by long captions decoding beside them, and on uniform"
                    + " lengths it keeps static's throughput (docs/streaming.md).");

    public static final ConfigOption<Integer> TASK_NICENESS = ConfigOptions.key("loupe.pipeline.task-niceness")
            .intType().defaultValue(0)
            .withDescription("Linux nice value (0-19) of the task threads that read, fetch, decode and resize images"
                    + " and emit results, and of the JVM's JIT compiler threads. The model's thread and ONNX Runtime's"
                    + " threads keep the process's priority, so while the model computes the kernel gives it the cores"
                    + " and the image work fills the gaps between its runs (bounded by backpressure). 0 (the"
                    + " default) leaves the threads as they are; ignored outside Linux.");

    public static final ConfigOption<Long> IMAGE_MAX_PIXELS = ConfigOptions.key("loupe.image.max-pixels")
            .longType().defaultValue(64L * 1024 * 1024)
            .withDescription("Largest decoded image (width x height) accepted; larger ones fail with"
                    + " IMAGE_TOO_MANY_PIXELS. Passed to the model's preprocessor by the AnnotatorFactory.");

    public static final ConfigOption<Integer> REQUEST_MAX_NEW_TOKENS = ConfigOptions.key("loupe.request.max-new-tokens")
            .intType().defaultValue(512)
            .withDescription("Largest maxNewTokens a request may ask for; more fails with UNSUPPORTED_OPTION.");

    public static final ConfigOption<Integer> REQUEST_MAX_BEAMS = ConfigOptions.key("loupe.request.max-beams")
            .intType().defaultValue(8)
            .withDescription("Largest numBeams a request may ask for; more fails with UNSUPPORTED_OPTION.");
}
