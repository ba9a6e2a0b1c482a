package dev.loupe.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Range reads decode every stored float type, also across mapping windows (here a few bytes wide). */
class FloatReaderTest {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void rangesAcrossWindowsMatchTheWholeTensor(DType dtype, @TempDir Path dir) throws Exception {
        float[] values = RandomCheckpointWriter.randomValues(7, 1000, 1.0);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        tensors.put("a", RandomCheckpointWriter.randomValues(1, 3, 1.0));
        tensors.put("w", values);
        RandomCheckpointWriter.write(dir, tensors, Map.of("a", new long[] {3}, "w", new long[] {10, 100}), dtype, 1);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            float[] whole = ckpt.floats("w");
            for (int i = 0; i < values.length; i++) {
                assertThat(whole[i]).isEqualTo(RandomCheckpointWriter.rounded(values[i], dtype));
            }
            for (long window : new long[] {4, 24, 1000, SafetensorsCheckpoint.MAP_WINDOW_BYTES}) {
                SafetensorsCheckpoint.FloatReader reader = ckpt.floatReader("w", window);
                int[][] ranges = {{0, 1000}, {3, 17}, {995, 5}, {1, 998}, {500, 0}, {123, 456}};
                for (int[] r : ranges) {
                    float[] got = new float[r[1] + 2];
                    reader.read(r[0], got, 1, r[1]);
                    assertThat(Arrays.copyOfRange(got, 1, 1 + r[1])).as("window %d range %s", window,
                            Arrays.toString(r)).containsExactly(Arrays.copyOfRange(whole, r[0], r[0] + r[1]));
                }
            }
        }
    }
}
