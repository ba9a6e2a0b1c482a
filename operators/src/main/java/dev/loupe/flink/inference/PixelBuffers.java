package dev.loupe.flink.inference;

import dev.loupe.model.onnx.FloatArrayPool;

/**
 * The float arrays of preprocessed images, recycled once their batch has run. A 224x224 tensor is 600 KB and lives
 * from its preprocessing until its batch has run, a batch filling while another computes (issue 13: recycled, a
 * caption run's GC CPU per image about a quarter lower). {@link PreprocessFunction} takes arrays from
 * {@link #SHARED}, {@link BatchInferenceOperator} gives a batch's back once its outcomes are out. The pool is shared
 * by the subtasks of a JVM: the operators of one chain hand elements over by reference (object reuse), so an array
 * taken by one is given back by the other; an array that went through a serializer instead is a copy, given back as
 * any other.
 */
public final class PixelBuffers {
    /** The JVM's pool: 64 MiB of idle arrays at most (47 tensors of 336x336, 111 of 224x224). */
    public static final FloatArrayPool SHARED = new FloatArrayPool(64L << 20);

    private PixelBuffers() {}
}
