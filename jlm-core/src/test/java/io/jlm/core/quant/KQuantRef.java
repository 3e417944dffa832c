package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

/**
 * Independent per-element decoder of the ggml K-quant super-blocks, written directly from the format
 * description (element index -> bytes), for checking the kernels. Not used by production code.
 */
final class KQuantRef {
    private KQuantRef() {}

    static int u8(byte[] b, int i) { return b[i] & 0xFF; }

    static float f16(byte[] b, int i) { return Float.float16ToFloat((short) (u8(b, i) | (u8(b, i + 1) << 8))); }

    static long u32(byte[] b, int i) {
        return (u8(b, i) | (u8(b, i + 1) << 8) | (u8(b, i + 2) << 16) | ((long) u8(b, i + 3) << 24));
    }

    /** Value of element e (0..255) of the super-block in blk. */
    static float value(GGMLType t, byte[] blk, int e) {
        return switch (t) {
            case Q2_K -> q2k(blk, e);
            case Q3_K -> q3k(blk, e);
            case Q4_K -> q4k(blk, e);
            case Q5_K -> q5k(blk, e);
            case Q6_K -> q6k(blk, e);
            default -> throw new IllegalArgumentException(t.name());
        };
    }

    static float[] decode(GGMLType t, byte[] data, int blocks) {
        float[] out = new float[blocks * 256];
        byte[] blk = new byte[t.typeSize()];
        for (int b = 0; b < blocks; b++) {
            System.arraycopy(data, b * t.typeSize(), blk, 0, blk.length);
            for (int e = 0; e < 256; e++) out[b * 256 + e] = value(t, blk, e);
        }
        return out;
    }

    // Q2_K: scales[16] qs[64] d dmin. Element e: sub-block e/16 (scale byte e/16), 2-bit field
    // (e%128)/32 of byte qs[32*(e/128) + e%32].
    static float q2k(byte[] b, int e) {
        float d = f16(b, 80), dmin = f16(b, 82);
        int sc = u8(b, e / 16);
        int q = (u8(b, 16 + 32 * (e / 128) + e % 32) >> (2 * ((e % 128) / 32))) & 3;
        return d * (sc & 15) * q - dmin * (sc >> 4);
    }

    // Q3_K: hmask[32] qs[64] scales[12] d. The 6-bit scales are unpacked exactly like ggml does with
    // three little-endian 32-bit words and the masks 0x0f0f0f0f / 0x03030303.
    static float q3k(byte[] b, int e) {
        long a0 = u32(b, 96), a1 = u32(b, 100), tmp = u32(b, 104);
        long km1 = 0x03030303L, km2 = 0x0f0f0f0fL;
        long[] aux = {
                (a0 & km2) | (((tmp >> 0) & km1) << 4),
                (a1 & km2) | (((tmp >> 2) & km1) << 4),
                ((a0 >> 4) & km2) | (((tmp >> 4) & km1) << 4),
                ((a1 >> 4) & km2) | (((tmp >> 6) & km1) << 4)};
        int s = e / 16;
        int scale = (int) ((aux[s / 4] >> (8 * (s % 4))) & 0xFF) - 32;
        float d = f16(b, 108);
        int low = (u8(b, 32 + 32 * (e / 128) + e % 32) >> (2 * ((e % 128) / 32))) & 3;
        boolean high = ((u8(b, e % 32) >> (e / 32)) & 1) != 0;
        return d * scale * (low - (high ? 0 : 4));
    }

    // get_scale_min_k4 of ggml for the 12 bytes at base: returns {scale, min} of sub-block j.
    static int[] scaleMinK4(byte[] b, int base, int j) {
        if (j < 4) return new int[]{u8(b, base + j) & 63, u8(b, base + j + 4) & 63};
        return new int[]{
                (u8(b, base + j + 4) & 0xF) | ((u8(b, base + j - 4) >> 6) << 4),
                (u8(b, base + j + 4) >> 4) | ((u8(b, base + j) >> 6) << 4)};
    }

    // Q4_K: d dmin scales[12] qs[128]. Element e: sub-block e/32; byte qs[32*(e/64) + e%32]; low nibble for
    // even sub-blocks, high nibble for odd.
    static float q4k(byte[] b, int e) {
        float d = f16(b, 0), dmin = f16(b, 2);
        int sub = e / 32;
        int[] sm = scaleMinK4(b, 4, sub);
        int byt = u8(b, 16 + 32 * (e / 64) + e % 32);
        int q = sub % 2 == 0 ? byt & 15 : byt >> 4;
        return d * sm[0] * q - dmin * sm[1];
    }

    // Q5_K: d dmin scales[12] qh[32] qs[128]. As Q4_K plus fifth bit = bit (e/32) of qh[e%32].
    static float q5k(byte[] b, int e) {
        float d = f16(b, 0), dmin = f16(b, 2);
        int sub = e / 32;
        int[] sm = scaleMinK4(b, 4, sub);
        int byt = u8(b, 48 + 32 * (e / 64) + e % 32);
        int q = (sub % 2 == 0 ? byt & 15 : byt >> 4) + (((u8(b, 16 + e % 32) >> sub) & 1) << 4);
        return d * sm[0] * q - dmin * sm[1];
    }

    // Q6_K: ql[128] qh[64] scales[16] (int8) d. Element e = 128h + 32t + l.
    static float q6k(byte[] b, int e) {
        int h = e / 128, t = (e % 128) / 32, l = e % 32;
        int qlb = u8(b, 64 * h + 32 * (t % 2) + l);
        int low = t < 2 ? qlb & 15 : qlb >> 4;
        int hi = (u8(b, 128 + 32 * h + l) >> (2 * t)) & 3;
        int q = (low | (hi << 4)) - 32;
        return f16(b, 208) * b[192 + e / 16] * q;
    }
}
