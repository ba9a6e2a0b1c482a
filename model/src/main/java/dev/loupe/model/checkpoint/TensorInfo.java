package dev.loupe.model.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/** Where a tensor lives in a safetensors file and what it is, as read from the file's header. */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, long offset, long byteLength) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
