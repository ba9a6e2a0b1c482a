package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;

/**
 * Which weights of a graph a quantized package stores quantized, and how: the {@link MatMulScheme} of each
 * {@code MatMul(x, W)} on a 2-D weight, chosen per {@link GraphRole} (how many rows x has per run) and shape, and
 * whether embedding tables (a {@code Gather} of rows of a 2-D weight) are stored as int8 rows with a scale each.
 * Everything else (norms, biases, convolutions, position tables) stays float32. {@link Precision#plan()} gives the
 * plan of each {@code --dtype}.
 */
public interface QuantizationPlan {

    /** How a graph is run, which decides which kernels pay. */
    enum GraphRole {
        /**
         * A graph whose every input is a batch of images (rank 4: vision towers, LLaVA's image graph): many rows per
         * image, and no row of one image interacts with another image, so it may be run one image per run.
         */
        IMAGE_TOWER,
        /** Many rows per run from several requests: Q-Former, T5 encoder. */
        ENCODER,
        /**
         * A decoder with a KV cache (an input with the symbolic dimension {@value #PAST_DIM}): mostly run one row
         * per sequence (a generation step), once per request over the prompt.
         */
        STEP_DECODER;

        /** The symbolic dimension of the decoders' past key/value inputs. */
        public static final String PAST_DIM = "past_sequence";

        static GraphRole of(GraphProto graph) {
            boolean past = graph.getInputList().stream().anyMatch(i -> i.getType().getTensorType().getShape()
                    .getDimList().stream().map(TensorShapeProto.Dimension::getDimParam).anyMatch(PAST_DIM::equals));
            if (past) {
                return STEP_DECODER;
            }
            boolean images = graph.getInputCount() > 0 && graph.getInputList().stream()
                    .allMatch(i -> i.getType().getTensorType().getShape().getDimCount() == 4);
            return images ? IMAGE_TOWER : ENCODER;
        }
    }

    /** The scheme for {@code MatMul(x, W)} with W [k, n] in a graph of the given role. */
    MatMulScheme matMul(GraphRole role, long k, long n);

    /** Whether {@code Gather(table, ids)} on a 2-D weight reads an int8 table with row scales. */
    boolean quantizeEmbeddings();

    /** The same scheme for every weight MatMul of every graph. */
    static QuantizationPlan uniform(MatMulScheme scheme, boolean quantizeEmbeddings) {
        return byRole(scheme, scheme, quantizeEmbeddings);
    }

    /** One scheme for every encoder graph (image towers included), one for step decoders. */
    static QuantizationPlan byRole(MatMulScheme encoder, MatMulScheme stepDecoder, boolean quantizeEmbeddings) {
        return byRole(encoder, encoder, stepDecoder, quantizeEmbeddings);
    }

    /** One scheme for image towers, one for the other encoders, one for step decoders. */
    static QuantizationPlan byRole(MatMulScheme imageTower, MatMulScheme encoder, MatMulScheme stepDecoder,
                                   boolean quantizeEmbeddings) {
        return new QuantizationPlan() {
            @Override
            public MatMulScheme matMul(GraphRole role, long k, long n) {
                return switch (role) {
                    case IMAGE_TOWER -> imageTower;
                    case ENCODER -> encoder;
                    case STEP_DECODER -> stepDecoder;
                };
            }

            @Override
            public boolean quantizeEmbeddings() {
                return quantizeEmbeddings;
            }
        };
    }
}
