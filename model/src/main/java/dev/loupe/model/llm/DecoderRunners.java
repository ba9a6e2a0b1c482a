package dev.loupe.model.llm;

import dev.loupe.model.api.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens a decoder-only language model with the runner {@link RuntimeOptions#runner()} asks for: the device-bound
 * runner ({@link DeviceBoundDecoder}) or ONNX Runtime's Java API ({@link PrefixStepDecoder}). {@code auto} takes the
 * device-bound runner on CUDA where the package's decoder is a fused graph (LLaMA or OPT), and the Java API elsewhere (on
 * CPU neither copies the cache, the device-bound runner's speed gain is not established, and the Java-API image side
 * keeps the cross-call vision cache: docs/benchmarks.md); asking for the device-bound runner for any other decoder is
 * an error.
 */
public final class DecoderRunners {
    private DecoderRunners() {}

    /**
     * @param fused whether the package's decoder is a fused graph (LLaMA or OPT) (its manifest's
     *              {@code dimensions.llm_decoder}, {@link DecoderGraphKind#FUSED})
     */
    public static ContinuousDecoder open(Path embeddingModel, Path decoderModel, DecoderConfig config, long padTokenId,
                                         boolean fused, RuntimeOptions options) throws IOException {
        RuntimeOptions.Runner runner = options.effectiveRunner();
        if (runner == RuntimeOptions.Runner.DEVICE_BOUND) {
            if (fused) {
                return DeviceBoundDecoder.open(embeddingModel, decoderModel, config, padTokenId, options);
            }
            if (options.runner() == RuntimeOptions.Runner.DEVICE_BOUND) {
                throw new IOException("the device-bound runner serves packages with a fused decoder (LLaMA or "
                        + "OPT) only; this package's decoder is the plain graph: convert with --decoder fused, or "
                        + "choose the ort-java runner");
            }
        }
        return new PrefixStepDecoder(LanguageModelRunner.open(embeddingModel, decoderModel, config, options),
                padTokenId);
    }

    /** Whether a manifest's {@code dimensions.llm_decoder} value names the fused graph. */
    public static boolean fused(String llmDecoder) {
        return DecoderGraphKind.FUSED.label().equals(llmDecoder);
    }
}
