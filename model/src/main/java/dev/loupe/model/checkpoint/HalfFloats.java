package dev.loupe.model.checkpoint;

/** IEEE half and bfloat16 conversions (Java 17 has no Float.float16ToFloat). */
public final class HalfFloats {
    private HalfFloats() {}

    public static float halfToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: normalise
            float v = mant / 1024f * (1f / 16384f);
            return sign == 0 ? v : -v;
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** Round-to-nearest-even float to half. */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int val = (bits & 0x7fffffff);
        if (val >= 0x7f800000) { // inf or nan
            return (short) (sign | 0x7c00 | (val > 0x7f800000 ? 0x200 : 0));
        }
        if (val >= 0x477ff000) { // overflow to inf (>= 65520)
            return (short) (sign | 0x7c00);
        }
        if (val < 0x38800000) { // subnormal or zero in half
            if (val < 0x33000000) {
                return (short) sign;
            }
            int e = val >>> 23;
            int m = (val & 0x7fffff) | 0x800000;
            int shift = 126 - e; // value = m * 2^(e - 150); half subnormal unit is 2^-24
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int e = ((val >>> 23) - 112) << 10;
        int m = (val >>> 13) & 0x3ff;
        int rem = val & 0x1fff;
        int h = e | m;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1)) {
            h++;
        }
        return (short) (sign | h);
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }
}
