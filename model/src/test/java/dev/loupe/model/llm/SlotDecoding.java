package dev.loupe.model.llm;

import java.util.ArrayList;
import java.util.List;

/** A fused decoder's prefill of random rows and fixed-token steps after it, and everything they returned: for comparisons. */
final class SlotDecoding {
    private SlotDecoding() {}

    /** The tiny InstructBLIP-Vicuna fixture's language model config. */
    static LlamaConfig vicunaConfig() throws java.io.IOException {
        return LlamaConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                dev.loupe.model.testing.HfFixture.VICUNA.checkpoint().resolve("config.json").toFile())
                .path("text_config"));
    }

    /**
     * Rows of random prefixes of {@code lengths} prefilled into one {@link SharedKvCache}, then {@code steps} one-token
     * steps of fixed ids: every row's logits, token choices (3 where the graph has them) and cached keys and values
     * of every layer after the prefill and after each step, in order.
     */
    static List<float[]> prefillAndSteps(LanguageModelRunner runner, LlamaConfig config, int[] lengths, int steps)
            throws Exception {
        List<VisualPrefix> rows = new ArrayList<>();
        for (int r = 0; r < lengths.length; r++) {
            rows.add(VisualPrefix.onHost(SharedKvCacheTest.prefix(lengths[r], config.hiddenSize(), 10 + r)));
        }
        float[] pad = new float[config.hiddenSize()];
        StepOutputs outputs = runner.offersChoices() ? new StepOutputs(true, 3) : StepOutputs.LOGITS;
        SharedBufferDecoder decoder = new SharedBufferDecoder(runner);
        List<float[]> out = new ArrayList<>();
        try (SharedKvCache kv = decoder.newCache(rows.size(), 8)) {
            LanguageModelRunner.DecoderOutput o = decoder.prefill(kv, 0, rows, pad, outputs);
            for (int step = 0; step <= steps; step++) {
                for (int r = 0; r < rows.size(); r++) {
                    out.add(o.lastLogits(r));
                    out.add(choices(o, r));
                    for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                        out.add(kv.keyRow(layer, r));
                        out.add(kv.valueRow(layer, r));
                    }
                }
                if (step < steps) {
                    long[] ids = new long[rows.size()];
                    for (int r = 0; r < ids.length; r++) {
                        ids[r] = 11 + 7 * r + step;
                    }
                    o = decoder.feed(kv, rows.size(), ids, 1, false, outputs);
                }
            }
        }
        return out;
    }

    /** Row {@code r}'s choice ids and log-probs (none when the run returned none). */
    static float[] choices(LanguageModelRunner.DecoderOutput out, int r) {
        if (out.choices() == 0) {
            return new float[0];
        }
        int[] ids = new int[out.choices()];
        float[] logProbs = new float[out.choices()];
        out.lastChoices(r, ids, logProbs);
        float[] both = new float[2 * ids.length];
        for (int j = 0; j < ids.length; j++) {
            both[j] = ids[j];
            both[ids.length + j] = logProbs[j];
        }
        return both;
    }
}
