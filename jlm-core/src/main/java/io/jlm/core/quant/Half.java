package io.jlm.core.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar half-precision helpers shared by the kernels: IEEE binary16 (ggml {@code ggml_fp16_t}) and
 * bfloat16 conversions, plus little-endian element accessors for {@link MemorySegment}s.
 * All conversions to 16 bits round to nearest, ties to even (as ggml does).
 */
public final class Half {
    /** Little-endian unaligned layouts used to read GGUF data. */
    public static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Half() {}

    /** binary16 bits to float (exact). */
    public static float f16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** float to binary16 bits, round to nearest even (like ggml's GGML_FP32_TO_FP16). */
    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }

    /** bfloat16 bits to float (exact). */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** float to bfloat16 bits, round to nearest even; NaN stays a quiet NaN (like ggml_compute_fp32_to_bf16). */
    public static short floatToBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** Reads a little-endian binary16 value at byte {@code offset} as float. */
    public static float getF16(MemorySegment seg, long offset) {
        return Float.float16ToFloat(seg.get(SHORT_LE, offset));
    }

    /** Writes {@code f} as little-endian binary16 at byte {@code offset}. */
    public static void putF16(MemorySegment seg, long offset, float f) {
        seg.set(SHORT_LE, offset, Float.floatToFloat16(f));
    }

    /** Reads a little-endian bfloat16 value at byte {@code offset} as float. */
    public static float getBf16(MemorySegment seg, long offset) {
        return bf16ToFloat(seg.get(SHORT_LE, offset));
    }

    /** Writes {@code f} as little-endian bfloat16 at byte {@code offset}. */
    public static void putBf16(MemorySegment seg, long offset, float f) {
        seg.set(SHORT_LE, offset, floatToBf16(f));
    }

    /**
     * C {@code roundf}: rounds half away from zero (Java's {@link Math#round} rounds half up, which
     * differs for negative ties). Used by the reference quantizers.
     */
    public static int roundf(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -a : a);
    }
}
