package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

/**
 * Independent scalar decoders for the ggml block formats, written straight from the format description
 * over a plain byte array (no MemorySegment, no vectors), used as the reference in tests.
 */
final class RefDecode {
    private RefDecode() {}

    static int u8(byte[] b, int i) { return b[i] & 0xFF; }

    static int u16(byte[] b, int i) { return u8(b, i) | (u8(b, i + 1) << 8); }

    static int u32(byte[] b, int i) { return u16(b, i) | (u16(b, i + 2) << 16); }

    /** binary16 -> float from first principles (sign, exponent, mantissa). */
    static float half(int h) {
        int sign = (h >>> 15) & 1, exp = (h >>> 10) & 0x1F, man = h & 0x3FF;
        double v;
        if (exp == 0) v = man * Math.pow(2, -24);
        else if (exp == 31) v = man == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        else v = (1 + man / 1024.0) * Math.pow(2, exp - 15);
        return (float) (sign == 1 ? -v : v);
    }

    /** Decodes {@code n} elements of type {@code t} starting at byte {@code off}. */
    static float[] decode(GGMLType t, byte[] b, int off, int n) {
        float[] out = new float[n];
        switch (t) {
            case F32 -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(u32(b, off + 4 * i));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = half(u16(b, off + 2 * i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(u16(b, off + 2 * i) << 16);
            }
            case Q8_0 -> {
                for (int ib = 0; ib < n / 32; ib++) {
                    int p = off + ib * 34;
                    float d = half(u16(b, p));
                    for (int j = 0; j < 32; j++) out[ib * 32 + j] = b[p + 2 + j] * d;
                }
            }
            case Q4_0, Q4_1, Q5_0, Q5_1 -> {
                boolean hasMin = t == GGMLType.Q4_1 || t == GGMLType.Q5_1;
                boolean five = t == GGMLType.Q5_0 || t == GGMLType.Q5_1;
                int bs = t.typeSize();
                for (int ib = 0; ib < n / 32; ib++) {
                    int p = off + ib * bs;
                    float d = half(u16(b, p));
                    float m = hasMin ? half(u16(b, p + 2)) : 0f;
                    int qhPos = p + (hasMin ? 4 : 2);
                    long qh = five ? (u32(b, qhPos) & 0xFFFFFFFFL) : 0;
                    int qs = five ? qhPos + 4 : qhPos;
                    for (int e = 0; e < 32; e++) {
                        int byteVal = u8(b, qs + (e % 16));
                        int q = e < 16 ? (byteVal & 0xF) : (byteVal >> 4);
                        if (five) q += (int) ((qh >> e) & 1) * 16;
                        float v;
                        if (hasMin) v = q * d + m;
                        else v = (q - (five ? 16 : 8)) * d;
                        out[ib * 32 + e] = v;
                    }
                }
            }
            default -> throw new IllegalArgumentException("no reference decoder for " + t);
        }
        return out;
    }
}
