package dev.loupe.model.onnx;

/**
 * Which weights of a graph a quantized package stores quantized, and how: the {@link MatMulScheme} of each
 * {@code MatMul(x, W)} on a 2-D weight, and whether embedding tables (a {@code Gather} of rows of a 2-D weight) are
 * stored as int8 rows with block scales. Everything else (norms, biases, convolutions, position tables) stays
 * float32. {@link Precision#plan()} gives the plan of each {@code --dtype}.
 */
public interface QuantizationPlan {

    /** The scheme for {@code MatMul(x, W)} with W [k, n] in the graph called {@code graph}. */
    MatMulScheme matMul(String graph, long k, long n);

    /** Whether {@code Gather(table, ids)} on a 2-D weight reads an int8 table with block scales. */
    boolean quantizeEmbeddings();

    /** The same scheme for every weight MatMul of every graph. */
    static QuantizationPlan uniform(MatMulScheme scheme, boolean quantizeEmbeddings) {
        return new QuantizationPlan() {
            @Override
            public MatMulScheme matMul(String graph, long k, long n) {
                return scheme;
            }

            @Override
            public boolean quantizeEmbeddings() {
                return quantizeEmbeddings;
            }
        };
    }
}
