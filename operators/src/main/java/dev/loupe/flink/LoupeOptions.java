package dev.loupe.flink;

import dev.loupe.flink.batch.DynamicBatcher;
import dev.loupe.flink.fetch.AddressPolicy;
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

    public static final ConfigOption<Duration> FETCH_TIMEOUT = ConfigOptions.key("loupe.fetch.timeout")
            .durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Per-request image fetch timeout; when it expires the request fails with FETCH_TIMEOUT.");

    public static final ConfigOption<MemorySize> FETCH_MAX_BYTES = ConfigOptions.key("loupe.fetch.max-bytes")
            .memoryType().defaultValue(MemorySize.parse("20mb"))
            .withDescription("Largest encoded image accepted (fetched or inline); larger ones fail with IMAGE_TOO_LARGE.");

    public static final ConfigOption<Integer> BATCH_MAX_SIZE = ConfigOptions.key(DynamicBatcher.MAX_SIZE_KEY)
            .intType().defaultValue(8)
            .withDescription("The dynamic batcher emits a batch as soon as it holds this many requests.");

    public static final ConfigOption<Duration> BATCH_MAX_DELAY = ConfigOptions.key(DynamicBatcher.MAX_DELAY_KEY)
            .durationType().defaultValue(Duration.ofMillis(50))
            .withDescription("The dynamic batcher emits a non-full batch this long after its first request arrived.");

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
