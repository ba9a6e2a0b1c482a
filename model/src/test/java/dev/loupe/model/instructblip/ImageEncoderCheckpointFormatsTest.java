package dev.loupe.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.model.api.ImageTensor;
import dev.loupe.model.checkpoint.DType;
import dev.loupe.model.checkpoint.RandomCheckpointWriter;
import dev.loupe.model.checkpoint.SafetensorsCheckpoint;
import dev.loupe.model.testing.HfFixture;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The converter accepts the checkpoint layouts found in the wild: half-precision (F16, BF16) and sharded copies of
 * the fixture, and the older vision attention layout with separate {@code q_bias}/{@code v_bias}.
 */
class ImageEncoderCheckpointFormatsTest {
    static List<ImageTensor> images;
    static long[][] ids;
    static ImageEncoder.Encoded fp32;

    @BeforeAll
    static void referenceRun(@TempDir Path modelDir) throws Exception {
        images = HfFixture.VICUNA.images("batch.pixel_values", 32);
        JsonNode rp = HfFixture.VICUNA.reference().path("batch").path("greedy_qformer_right_padded");
        ids = HfFixture.idRows(rp.path("qformer_input_ids").path("values"),
                rp.path("qformer_attention_mask").path("values"));
        fp32 = run(HfFixture.VICUNA.checkpoint(), modelDir);
    }

    @ParameterizedTest(name = "{0}, {1} shard(s), tolerance {2}")
    @CsvSource({"F16,1,0.02", "BF16,2,0.1", "F32,3,0"})
    void halfPrecisionAndShardedCopiesGiveCloseFiniteOutputs(DType dtype, int shards, float tolerance,
                                                            @TempDir Path tmp) throws Exception {
        Path ckpt = tmp.resolve("checkpoint");
        RandomCheckpointWriter.copyAs(HfFixture.VICUNA.checkpoint(), ckpt, dtype, shards);
        ImageEncoder.Encoded e = run(ckpt, tmp.resolve("model"));
        float worst = 0;
        for (int r = 0; r < images.size(); r++) {
            for (float f : e.languageInputs()[r]) {
                assertThat(Float.isFinite(f)).isTrue();
            }
            worst = Math.max(worst, HfFixture.maxAbsDiff(e.imageEmbeds()[r], fp32.imageEmbeds()[r]));
            worst = Math.max(worst, HfFixture.maxAbsDiff(e.queryOutput()[r], fp32.queryOutput()[r]));
            worst = Math.max(worst, HfFixture.maxAbsDiff(e.languageInputs()[r], fp32.languageInputs()[r]));
        }
        System.out.printf("%s weights, %d shard(s): max abs diff vs fp32 %.3g%n", dtype, shards, worst);
        assertThat(worst).isLessThanOrEqualTo(tolerance);
    }

    @Test
    void separateQAndVBiasesEqualTheFusedBiasWithZeroKeyBias(@TempDir Path tmp) throws Exception {
        Map<String, float[]> fused = new LinkedHashMap<>();
        Map<String, float[]> legacy = new LinkedHashMap<>();
        Map<String, long[]> fusedShapes = new LinkedHashMap<>();
        Map<String, long[]> legacyShapes = new LinkedHashMap<>();
        int hidden = 48;
        try (SafetensorsCheckpoint src = SafetensorsCheckpoint.open(HfFixture.VICUNA.checkpoint())) {
            for (String n : src.names()) {
                float[] v = src.floats(n);
                long[] shape = src.info(n).shape();
                if (n.endsWith("self_attn.qkv.bias")) {
                    java.util.Arrays.fill(v, hidden, 2 * hidden, 0f); // a q_bias/v_bias model has no key bias
                    String p = n.substring(0, n.length() - "qkv.bias".length());
                    legacy.put(p + "q_bias", java.util.Arrays.copyOfRange(v, 0, hidden));
                    legacy.put(p + "v_bias", java.util.Arrays.copyOfRange(v, 2 * hidden, 3 * hidden));
                    legacyShapes.put(p + "q_bias", new long[] {hidden});
                    legacyShapes.put(p + "v_bias", new long[] {hidden});
                } else {
                    legacy.put(n, v);
                    legacyShapes.put(n, shape);
                }
                fused.put(n, v);
                fusedShapes.put(n, shape);
            }
        }
        Path fusedDir = tmp.resolve("fused");
        Path legacyDir = tmp.resolve("legacy");
        RandomCheckpointWriter.write(fusedDir, fused, fusedShapes, DType.F32, 1);
        RandomCheckpointWriter.write(legacyDir, legacy, legacyShapes, DType.F32, 1);
        java.nio.file.Files.copy(HfFixture.VICUNA.checkpoint().resolve("config.json"), fusedDir.resolve("config.json"));
        java.nio.file.Files.copy(HfFixture.VICUNA.checkpoint().resolve("config.json"), legacyDir.resolve("config.json"));

        ImageEncoder.Encoded a = run(fusedDir, tmp.resolve("fused-model"));
        ImageEncoder.Encoded b = run(legacyDir, tmp.resolve("legacy-model"));
        for (int r = 0; r < images.size(); r++) {
            assertThat(b.imageEmbeds()[r]).containsExactly(a.imageEmbeds()[r]);
            assertThat(b.languageInputs()[r]).containsExactly(a.languageInputs()[r]);
        }
    }

    private static ImageEncoder.Encoded run(Path checkpoint, Path modelDir) throws Exception {
        ImageEncoder.writeModels(checkpoint, modelDir);
        try (ImageEncoder enc = ImageEncoder.open(modelDir, InstructBlipConfig.load(checkpoint), 1)) {
            return enc.encodeWithIntermediates(images, ids);
        }
    }
}
