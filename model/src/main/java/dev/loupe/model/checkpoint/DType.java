package dev.loupe.model.checkpoint;

/** Element types found in safetensors checkpoints that the runtime reads. */
public enum DType {
    F32(4), F16(2), BF16(2), I64(8), I32(4), U8(1), BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public static DType fromSafetensors(String name) {
        return switch (name) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            case "I64" -> I64;
            case "I32" -> I32;
            case "U8" -> U8;
            case "BOOL" -> BOOL;
            default -> throw new IllegalArgumentException("unsupported safetensors dtype " + name);
        };
    }
}
