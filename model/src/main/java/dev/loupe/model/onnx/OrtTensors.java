package dev.loupe.model.onnx;

import ai.onnxruntime.OnnxTensor;
import java.nio.FloatBuffer;

/** Reading ONNX Runtime outputs into Java arrays, for the few outputs that must cross into Java whole. */
public final class OrtTensors {

    private OrtTensors() {}

    /** A float tensor's values, row-major, as a new array. */
    public static float[] floats(OnnxTensor tensor) {
        FloatBuffer values = tensor.getFloatBuffer();
        float[] out = new float[values.remaining()];
        values.get(out);
        return out;
    }
}
