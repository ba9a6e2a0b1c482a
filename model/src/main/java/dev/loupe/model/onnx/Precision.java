package dev.loupe.model.onnx;

import java.util.Locale;

/**
 * How a model package stores its weights. {@link #FP16} halves the package on disk: weights are float16
 * initializers, each cast to float32 inside the graph, so every op still computes in float32 (see
 * {@link OnnxModelWriter}). {@link #INT8} stores the weights of every MatMul on a weight as int8 per output column
 * and multiplies them with the u8s8 GEMM: row-quantized ({@link MatMulScheme#ROW_INT8}) in the Q-Former, T5 encoder
 * and decoders, measured faster than {@code MatMulNBits} for the decoder's prefill (2x at batch 16) and its steps
 * (1.4-1.7x), one weight layout for both; {@code DynamicQuantizeMatMul} ({@link MatMulScheme#DYNAMIC_INT8}) in image
 * towers, run one image per run, which needs no quantization ops in the graph (docs/models.md,
 * docs/benchmarks.md). {@link #INT4} keeps the encoders so and gives the decoder 4-bit block-wise
 * {@code MatMulNBits} weights (smallest decoder, for memory-bound models). Both store large embedding tables as int8
 * rows; norms, biases, convolutions and everything else stay float32 ({@link #plan()}, {@link WeightQuantizer}).
 * {@link #FP16_COMPUTE} is for GPUs: the graphs themselves compute in float16 ({@link Float16Compute}); on CPU,
 * ONNX Runtime runs most of their ops in float32 between casts it inserts (see docs/models.md).
 */
public enum Precision {
    FP32("fp32", 4, null),
    FP16("fp16", 2, null),
    /**
     * float16 weights and activations, float32 where float16 would overflow or lose the distribution (norm statistics,
     * log-softmax, the logits), float16 KV cache: for GPU execution providers ({@link Float16Compute}).
     */
    FP16_COMPUTE("fp16-compute", 2, null),
    INT8("int8", 1, QuantizationPlan.byRole(MatMulScheme.DYNAMIC_INT8, MatMulScheme.ROW_INT8, MatMulScheme.ROW_INT8,
            true)),
    INT4("int4", 1, QuantizationPlan.byRole(MatMulScheme.DYNAMIC_INT8, MatMulScheme.ROW_INT8, MatMulScheme.NBITS4,
            true));

    private final String label;
    private final int bytes;
    private final QuantizationPlan plan;

    Precision(String label, int bytes, QuantizationPlan plan) {
        this.label = label;
        this.bytes = bytes;
        this.plan = plan;
    }

    /** The name used by {@code --dtype} and manifest.json ("fp32", "fp16", "fp16-compute", "int8", "int4"). */
    public String label() {
        return label;
    }

    /**
     * Bytes per stored weight value: 4 and 2 for the float precisions; 1 for the quantized ones, meaning a quantized
     * code (int4 codes are packed two to a byte, and weights that are not quantized stay float32).
     */
    public int bytes() {
        return bytes;
    }

    /** What a quantized precision quantizes and how; null for the float precisions. */
    public QuantizationPlan plan() {
        return plan;
    }

    /** Whether the graphs compute in float16 (not only store their weights so). */
    public boolean computesInHalf() {
        return this == FP16_COMPUTE;
    }

    /** Parses "fp32"/"float32", "fp16"/"float16", "fp16-compute", "int8" or "int4" (case-insensitive). */
    public static Precision parse(String name) {
        return switch (name == null ? "" : name.toLowerCase(Locale.ROOT)) {
            case "fp32", "float32" -> FP32;
            case "fp16", "float16" -> FP16;
            case "fp16-compute" -> FP16_COMPUTE;
            case "int8" -> INT8;
            case "int4" -> INT4;
            default -> throw new IllegalArgumentException("dtype must be fp32, fp16, fp16-compute, int8 or int4, got '" + name + "'");
        };
    }
}
