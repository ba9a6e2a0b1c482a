package dev.loupe.model.onnx;

/**
 * How a quantized package computes one {@code MatMul(x, W)} whose W is a weight, in ONNX Runtime's com.microsoft
 * contrib ops (CPU kernels):
 * <ul>
 *   <li>{@link #NBITS8} / {@link #NBITS4}: {@code MatMulNBits} with W stored as 8- or 4-bit codes in blocks of
 *       {@value #BLOCK_SIZE} along K, one float scale per block, symmetric (the op's default zero point), and
 *       {@code accuracy_level} 4: x is quantized to int8 per row and block inside the kernel, so a row's result
 *       does not depend on the other rows of the batch.</li>
 *   <li>{@link #ROW_INT8}: W int8 per output column as for {@link #DYNAMIC_INT8}, and x quantized in the graph to
 *       uint8 per row (symmetric: scale max|x_row| / 127, zero point 128; ReduceMax, ReduceMin and one
 *       {@code QuantizeLinear} pass), multiplied by {@code MatMulIntegerToFloat}, which applies the row scales to the
 *       output in a pass of its own: the u8s8 GEMM, and a row's result is independent of the other rows (integer
 *       accumulation is exact). For graphs whose runs hold many rows of different requests (Q-Former, decoders).</li>
 *   <li>{@link #DYNAMIC_INT8}: {@code DynamicQuantizeMatMul}, W int8 per output column; x is quantized to uint8
 *       with one (asymmetric) range for the whole tensor, inside the kernel: one op, no pass of the graph's own, so
 *       the fastest at many rows; but a row's result depends on the rest of its run. Chosen for image towers
 *       ({@link QuantizationPlan.GraphRole#IMAGE_TOWER}), whose graphs then say so in their metadata
 *       ({@link RowsPerRun}) and are run one image per run, which keeps each image's features its own.</li>
 *   <li>{@link #FLOAT}: the float32 MatMul as written.</li>
 * </ul>
 */
public enum MatMulScheme {
    NBITS8(8), NBITS4(4), ROW_INT8(8), DYNAMIC_INT8(8), FLOAT(32);

    /** Values of W along K that share one scale in the block-wise schemes. */
    public static final int BLOCK_SIZE = 32;
    /** MatMulNBits accuracy level 4: int8 activations, int32 accumulation. */
    public static final int ACCURACY_LEVEL = 4;

    private final int bits;

    MatMulScheme(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }
}
