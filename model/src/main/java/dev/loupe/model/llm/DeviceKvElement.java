package dev.loupe.model.llm;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * The element type of a {@link DeviceKvCache}: the decoder graph's past inputs' (float32, or float16 in fp16-compute
 * packages), so that the buffers, the tensors over them and the on-device copy graphs ({@link DeviceMemory}) take the
 * bytes the graph reads and writes in place.
 */
enum DeviceKvElement {
    FLOAT32(DataType.FLOAT, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, Float.BYTES),
    FLOAT16(DataType.FLOAT16, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, Short.BYTES);

    private final DataType graphType;
    private final int tensorType;
    private final int bytes;

    DeviceKvElement(DataType graphType, int tensorType, int bytes) {
        this.graphType = graphType;
        this.tensorType = tensorType;
        this.bytes = bytes;
    }

    /** The element type of ONNX Runtime's tensor type {@code onnxType}; any other than float32 and float16 is refused. */
    static DeviceKvElement of(int onnxType) {
        for (DeviceKvElement e : values()) {
            if (e.tensorType == onnxType) {
                return e;
            }
        }
        throw new IllegalArgumentException("the decoder's KV cache has ONNX element type " + onnxType
                + "; the device-bound runner keeps float32 (" + ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT + ") or float16 ("
                + ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 + ") caches");
    }

    /** The type in an ONNX graph's declarations. */
    DataType graphType() {
        return graphType;
    }

    /** ONNX Runtime's element type constant. */
    int tensorType() {
        return tensorType;
    }

    /** Bytes per element. */
    int bytes() {
        return bytes;
    }
}
