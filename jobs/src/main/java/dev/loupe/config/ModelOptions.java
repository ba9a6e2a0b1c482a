package dev.loupe.config;

import dev.loupe.model.api.RuntimeOptions;
import java.nio.file.Path;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Which model a job runs and how its runtime executes, as typed options shared by every job command. The runtime
 * options fall back to the environment when unset ({@code LOUPE_DEVICE}, {@code LOUPE_THREADS}, {@code LOUPE_CACHE}
 * or the system property {@code loupe.cache}; see {@link RuntimeOptions#defaults()}), so both ways keep working.
 */
public final class ModelOptions {

    private ModelOptions() {}

    public static final ConfigOption<String> MODEL = ConfigOptions.key("loupe.model")
            .stringType().noDefaultValue()
            .withDescription("Model package or Hugging Face checkpoint directory (a checkpoint is converted once "
                    + "into the cache). loupe run without it uses a tiny random-weight demo model.");

    public static final ConfigOption<String> DEVICE = ConfigOptions.key("loupe.runtime.device")
            .stringType().noDefaultValue()
            .withDescription("ONNX Runtime device: cpu, cuda or cuda:N (CUDA needs the gpu build). "
                    + "Unset: $LOUPE_DEVICE, else cpu.");

    public static final ConfigOption<Integer> THREADS = ConfigOptions.key("loupe.runtime.threads")
            .intType().noDefaultValue()
            .withDescription("ONNX Runtime intra-op threads of the process's one shared pool (0: the processors the JVM "
                    + "may use, which honours a container's CPU limit). Unset: $LOUPE_THREADS, else 0.");

    public static final ConfigOption<String> RUNNER = ConfigOptions.key("loupe.runtime.runner")
            .stringType().noDefaultValue()
            .withDescription("How the language model's decoder runs: ort-java (ONNX Runtime's Java API; on CUDA it "
                    + "copies the KV cache between host and GPU every step), device-bound (IoBinding through JavaCPP's "
                    + "ONNX Runtime: the KV cache stays in the device's memory, only token ids, lengths and token "
                    + "choices cross per step; fused LLaMA and OPT decoders only) or auto (device-bound on CUDA for "
                    + "fused-decoder packages, ort-java otherwise and on CPU, where it measured as fast). "
                    + "Unset: $LOUPE_RUNNER, else auto.");

    public static final ConfigOption<String> CACHE_DIR = ConfigOptions.key("loupe.runtime.cache-dir")
            .stringType().noDefaultValue()
            .withDescription("Where converted checkpoints and the demo model are cached. Unset: the system property "
                    + "loupe.cache, else $LOUPE_CACHE, else ~/.cache/loupe.");

    public static final ConfigOption<MemorySize> VISION_CACHE_BYTES = ConfigOptions.key("loupe.runtime.vision-cache-bytes")
            .memoryType().defaultValue(new MemorySize(RuntimeOptions.DEFAULT_VISION_CACHE_BYTES))
            .withDescription("Bound of each loaded model's cache of prompt-independent image features (InstructBLIP's "
                    + "ViT output, BLIP-2's and LLaVA's projected image features), keyed by the preprocessed image's "
                    + "content hash: several prompts on one image run its vision encoder once across batches and "
                    + "subtasks of a process. Held in native memory outside the Java heap, freed with the model. 0 "
                    + "disables the cache (identical images within one batch still share one pass).");

    public static final ConfigOption<Boolean> FAST_JPEG_DOWNSCALE = ConfigOptions.key("loupe.image.fast-jpeg-downscale")
            .booleanType().defaultValue(false)
            .withDescription("Decode JPEGs at 1/2, 1/4 or 1/8 scale when both sides stay at least that many times the "
                    + "model's input size (Pillow's Image.draft rule; ImageDecoder.withFastJpegDownscale): with "
                    + "libjpeg-turbo installed this is DCT scaling, pixel for pixel Pillow's draft (else ImageIO "
                    + "subsampling, rougher). Several times faster on camera photos, but not the pixels of Pillow's "
                    + "full decode, so off wherever parity is promised.");

    /** The model directory, if set. */
    public static java.util.Optional<Path> model(ReadableConfig config) {
        return config.getOptional(MODEL).map(String::strip).filter(s -> !s.isEmpty()).map(Path::of);
    }

    /** The runtime options: these options where set, the environment's defaults elsewhere; IllegalArgumentException naming a bad one. */
    public static RuntimeOptions runtimeOptions(ReadableConfig config) {
        RuntimeOptions options = RuntimeOptions.defaults();
        var device = config.getOptional(DEVICE);
        if (device.isPresent()) {
            try {
                options = options.withDeviceSpec(device.get());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(DEVICE.key() + ": " + e.getMessage(), e);
            }
        }
        var threads = config.getOptional(THREADS);
        if (threads.isPresent()) {
            if (threads.get() < 0) {
                throw new IllegalArgumentException(THREADS.key() + " must be 0 or more, got " + threads.get());
            }
            options = options.withThreads(threads.get());
        }
        var runner = config.getOptional(RUNNER);
        if (runner.isPresent()) {
            try {
                options = options.withRunner(RuntimeOptions.Runner.parse(runner.get()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(RUNNER.key() + ": " + e.getMessage(), e);
            }
        }
        options = options.withVisionCacheBytes(config.get(VISION_CACHE_BYTES).getBytes());
        var cache = config.getOptional(CACHE_DIR).map(String::strip).filter(s -> !s.isEmpty());
        if (cache.isPresent()) {
            options = new RuntimeOptions(options.device(), options.intraOpThreads(), cache.get(), options.deviceIndex(),
                    options.visionCacheBytes(), options.runner());
        }
        return options;
    }
}
