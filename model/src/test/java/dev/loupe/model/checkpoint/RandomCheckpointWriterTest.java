package dev.loupe.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Checkpoints written by the test tool read back through SafetensorsCheckpoint exactly, in every dtype and layout. */
class RandomCheckpointWriterTest {

    @ParameterizedTest(name = "{0}, {1} shard(s)")
    @CsvSource({"F32,1", "F16,1", "BF16,1", "F32,3", "F16,2", "BF16,3"})
    void readsBackWhatWasWritten(DType dtype, int shards, @TempDir Path dir) throws Exception {
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {11, 8});
        shapes.put("model.layers.0.self_attn.k_proj.weight", new long[] {4, 8});
        shapes.put("model.layers.0.self_attn.q_proj.weight", new long[] {8, 8});
        shapes.put("model.norm.weight", new long[] {8});
        shapes.put("lm_head.weight", new long[] {11, 8});
        shapes.forEach((n, s) -> values.put(n, RandomCheckpointWriter.randomValues(7, n, s, 0.5)));
        // values that exercise rounding edges: ties, subnormal halves, overflow, signed zero
        values.put("model.norm.weight", new float[] {1f, -0f, 1.00048828125f, 6.0e-8f, 70000f, -3.1415927f, 1e-3f,
                Float.MIN_NORMAL});

        RandomCheckpointWriter.write(dir, values, shapes, dtype, shards);
        assertThat(Files.exists(dir.resolve("model.safetensors.index.json"))).isEqualTo(shards > 1);

        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            assertThat(ckpt.names()).containsExactlyInAnyOrderElementsOf(values.keySet());
            for (String n : values.keySet()) {
                assertThat(ckpt.info(n).dtype()).isEqualTo(dtype);
                assertThat(ckpt.info(n).shape()).isEqualTo(shapes.get(n));
                float[] expected = values.get(n).clone();
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = RandomCheckpointWriter.rounded(expected[i], dtype);
                }
                float[] actual = ckpt.floats(n);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(Float.floatToIntBits(actual[i])).as("%s[%d]", n, i)
                            .isEqualTo(Float.floatToIntBits(expected[i]));
                }
            }
        }
    }

    @Test
    void roundingMatchesIeeeHalfAndBfloat16() {
        assertThat(RandomCheckpointWriter.rounded(1.00048828125f, DType.F16)).isEqualTo(1f); // tie to even
        assertThat(RandomCheckpointWriter.rounded(1.00146484375f, DType.F16)).isEqualTo(1.001953125f); // tie up
        assertThat(RandomCheckpointWriter.rounded(70000f, DType.F16)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(RandomCheckpointWriter.rounded(1.00390625f, DType.BF16)).isEqualTo(1f); // tie to even
        assertThat(RandomCheckpointWriter.rounded(1.01171875f, DType.BF16)).isEqualTo(1.015625f); // tie up
        assertThat(RandomCheckpointWriter.rounded(-3.1415927f, DType.BF16)).isEqualTo(-3.140625f);
        assertThat(Float.isNaN(RandomCheckpointWriter.rounded(Float.NaN, DType.BF16))).isTrue();
    }

    @Test
    void randomValuesAreSeededAndScaled() {
        float[] a = RandomCheckpointWriter.randomValues(42, 10_000, 0.02);
        assertThat(a).isEqualTo(RandomCheckpointWriter.randomValues(42, 10_000, 0.02));
        assertThat(a).isNotEqualTo(RandomCheckpointWriter.randomValues(43, 10_000, 0.02));
        double sq = 0;
        for (float f : a) {
            sq += f * f;
        }
        assertThat(Math.sqrt(sq / a.length)).isBetween(0.019, 0.021);
    }
}
