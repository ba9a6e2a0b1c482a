package dev.loupe.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Weights read piecewise give the same values as read whole, for transposes larger than one tile. */
class WeightTest {

    @Test
    void transposedRangesMatchANaiveTranspose() {
        int rows = 131;
        int cols = 70;
        float[] in = new float[rows * cols];
        for (int i = 0; i < in.length; i++) {
            in[i] = i;
        }
        float[] expected = new float[in.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                expected[c * rows + r] = in[r * cols + c];
            }
        }
        Weight t = Weight.of(in, rows, cols).transposed();
        assertThat(t.dims()).containsExactly(cols, rows);
        assertThat(t.values()).containsExactly(expected);
        int[][] ranges = {{0, 1}, {5, 100}, {130, 2}, {131, 131}, {200, 4000}, {9169, 1}, {64 * 131 - 3, 300},
                {0, rows * cols}};
        for (int[] r : ranges) {
            float[] got = new float[r[1]];
            t.read(r[0], got, 0, r[1]);
            assertThat(got).as("range %s", Arrays.toString(r))
                    .containsExactly(Arrays.copyOfRange(expected, r[0], r[0] + r[1]));
        }
        // chunked as the writer reads it
        float[] chunked = new float[in.length];
        int chunk = t.preferredChunk();
        for (int pos = 0; pos < in.length; pos += chunk) {
            t.read(pos, chunked, pos, Math.min(chunk, in.length - pos));
        }
        assertThat(chunked).containsExactly(expected);
    }

    @Test
    void rowsOfATransposeAndReshapesKeepRowMajorOrder() {
        float[] in = {1, 2, 3, 4, 5, 6}; // [2, 3]
        Weight t = Weight.of(in, 2, 3).transposed(); // [[1, 4], [2, 5], [3, 6]]
        assertThat(t.rows(1, 3).values()).containsExactly(2, 5, 3, 6);
        assertThat(t.reshaped(6).values()).containsExactly(1, 4, 2, 5, 3, 6);
        assertThat(Weight.lazy(() -> in, 3, 2).rows(1, 3).values()).containsExactly(3, 4, 5, 6);
    }

    @Test
    void stackedWeightsReadAsTheirRowsOneAfterAnotherAcrossBoundaries() {
        Weight q = Weight.of(new float[] {1, 2, 3, 4}, 2, 2);       // [[1, 2], [3, 4]]
        Weight k = Weight.of(new float[] {5, 6}, 1, 2);             // [[5, 6]]
        Weight v = Weight.of(new float[] {7, 8, 9, 10}, 2, 2);      // [[7, 8], [9, 10]]
        Weight qkv = Weight.stacked(q, k, v);
        assertThat(qkv.dims()).containsExactly(5, 2);
        assertThat(qkv.values()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        float[] middle = new float[5];
        qkv.read(3, middle, 0, 5); // from q's last value through k into v
        assertThat(middle).containsExactly(4, 5, 6, 7, 8);
        // as a MatMul operand [in, out]: the projections' columns side by side
        assertThat(qkv.transposed().values()).containsExactly(1, 3, 5, 7, 9, 2, 4, 6, 8, 10);
        assertThat(Weight.stacked(Weight.of(new float[] {1, 2}, 2), Weight.of(new float[] {3}, 1)).values())
                .containsExactly(1, 2, 3);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Weight.stacked(q, Weight.of(new float[] {1, 2, 3}, 1, 3)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
