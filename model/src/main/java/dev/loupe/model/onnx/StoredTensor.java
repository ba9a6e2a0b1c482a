package dev.loupe.model.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One initializer as {@link OnnxModelWriter} stores it: name, ONNX element type, dims and the exact number of raw
 * little-endian bytes, which are produced chunk by chunk only while the file is written (so float weights, their
 * float16 copies and quantized weights all stream through a small buffer).
 */
record StoredTensor(String name, TensorProto.DataType type, long[] dims, long byteCount, Bytes bytes) {

    /** Receives consecutive chunks of a tensor's raw bytes (position to limit). */
    interface Sink {
        void accept(ByteBuffer chunk) throws IOException;
    }

    /** Produces a tensor's raw bytes into a sink, in order; exactly {@link #byteCount()} of them. */
    interface Bytes {
        void writeTo(Sink sink) throws IOException;
    }
}
