package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class KernelTest {

    static final double EPS16 = Math.pow(2, -11); // relative rounding error of binary16

    static MemorySegment seg(byte[] b) {
        MemorySegment s = Arena.ofAuto().allocate(b.length + 16, 16).asSlice(0, b.length);
        MemorySegment.copy(MemorySegment.ofArray(b), 0, s, 0, b.length);
        return s;
    }

    static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Random data with a different scale (and sometimes an offset) per block of 32. */
    static float[] randomData(Random rnd, int n) {
        float[] v = new float[n];
        for (int b = 0; b < n; b += 32) {
            double scale = Math.pow(10, rnd.nextInt(5) - 3);
            double shift = rnd.nextInt(4) == 0 ? rnd.nextGaussian() * scale * 3 : 0;
            for (int j = b; j < Math.min(n, b + 32); j++) v[j] = (float) (rnd.nextGaussian() * scale + shift);
        }
        return v;
    }

    static MemorySegment quantize(GGMLType t, float[] src, long pad) {
        WeightKernel k = Kernels.of(t);
        MemorySegment dst = Arena.ofAuto().allocate(pad + t.byteSize(src.length) + 64, 1);
        k.quantize(src, 0, src.length, dst, pad);
        return dst;
    }

    // ---------------------------------------------------------------- hand-built blocks

    @Test
    void q8_0KnownBlock() {
        byte[] b = new byte[34];
        b[0] = 0x00; b[1] = 0x38;              // d = 0.5
        b[2] = 1; b[3] = -2; b[4] = 127; b[5] = -128; b[33] = 10;
        float[] out = new float[32];
        Q8_0Kernel.INSTANCE.dequantize(seg(b), 0, out, 0, 32);
        assertEquals(0.5f, out[0]);
        assertEquals(-1.0f, out[1]);
        assertEquals(63.5f, out[2]);
        assertEquals(-64f, out[3]);
        assertEquals(0f, out[4]);
        assertEquals(5f, out[31]);
    }

    @Test
    void q4_0KnownBlock() {
        byte[] b = new byte[18];
        b[0] = 0x00; b[1] = 0x40;              // d = 2.0
        b[2] = (byte) 0x9F;                    // e0 = (15-8)*2 = 14, e16 = (9-8)*2 = 2
        b[3] = 0x08;                           // e1 = 0, e17 = -16
        b[17] = (byte) 0xF0;                   // e15 = -16, e31 = 14
        float[] out = new float[32];
        Q4_0Kernel.INSTANCE.dequantize(seg(b), 0, out, 0, 32);
        assertEquals(14f, out[0]);
        assertEquals(2f, out[16]);
        assertEquals(0f, out[1]);
        assertEquals(-16f, out[17]);
        assertEquals(-16f, out[15]);
        assertEquals(14f, out[31]);
        assertEquals(-16f, out[2]);            // nibble 0 -> (0-8)*2
    }

    @Test
    void q4_1KnownBlock() {
        byte[] b = new byte[20];
        b[0] = 0x00; b[1] = 0x3C;              // d = 1.0
        b[2] = 0x00; b[3] = (byte) 0xBC;       // m = -1.0
        b[4] = 0x21;                           // e0 = 1-1 = 0, e16 = 2-1 = 1
        b[19] = (byte) 0xFE;                   // e15 = 14-1 = 13, e31 = 15-1 = 14
        float[] out = new float[32];
        Q4_1Kernel.INSTANCE.dequantize(seg(b), 0, out, 0, 32);
        assertEquals(0f, out[0]);
        assertEquals(1f, out[16]);
        assertEquals(13f, out[15]);
        assertEquals(14f, out[31]);
        assertEquals(-1f, out[5]);
    }

    @Test
    void q5_0KnownBlock() {
        byte[] b = new byte[22];
        b[0] = 0x00; b[1] = 0x38;              // d = 0.5
        b[2] = 0x01; b[3] = 0x00; b[4] = 0x01; b[5] = 0x00;   // qh: bits 0 and 16
        b[6] = 0x3A;                           // e0 = (10|16)=26 -> 5.0 ; e16 = (3|16)=19 -> 1.5
        b[7] = 0x00;                           // e1 = 0 -> -8 ; e17 = -8
        float[] out = new float[32];
        Q5_0Kernel.INSTANCE.dequantize(seg(b), 0, out, 0, 32);
        assertEquals(5f, out[0]);
        assertEquals(1.5f, out[16]);
        assertEquals(-8f, out[1]);
        assertEquals(-8f, out[17]);
    }

    @Test
    void q5_1KnownBlock() {
        byte[] b = new byte[24];
        b[0] = 0x00; b[1] = 0x3C;              // d = 1.0
        b[2] = 0x00; b[3] = 0x40;              // m = 2.0
        b[4] = 0; b[5] = 0; b[6] = 0; b[7] = (byte) 0x80;      // qh: bit 31 (element 31)
        b[23] = 0x70;                          // e15 = 0 -> 2 ; e31 = 7|16 = 23 -> 25
        b[8] = 0x05;                           // e0 = 5 -> 7 ; e16 = 0 -> 2
        float[] out = new float[32];
        Q5_1Kernel.INSTANCE.dequantize(seg(b), 0, out, 0, 32);
        assertEquals(2f, out[15]);
        assertEquals(25f, out[31]);
        assertEquals(7f, out[0]);
        assertEquals(2f, out[16]);
    }

    @Test
    void f16AndBf16KnownValues() {
        byte[] h = {0x00, 0x3C, 0x00, (byte) 0xC0, 0x01, 0x00, 0x00, 0x7C, (byte) 0xFF, 0x7B};
        float[] out = new float[5];
        F16Kernel.INSTANCE.dequantize(seg(h), 0, out, 0, 5);
        assertArrayEquals(new float[]{1f, -2f, 0x1p-24f, Float.POSITIVE_INFINITY, 65504f}, out);
        byte[] bf = {(byte) 0x80, 0x3F, 0x00, (byte) 0xC0, 0x49, 0x40};
        float[] o2 = new float[3];
        BF16Kernel.INSTANCE.dequantize(seg(bf), 0, o2, 0, 3);
        assertEquals(1f, o2[0]);
        assertEquals(-2f, o2[1]);
        assertEquals(Float.intBitsToFloat(0x40490000), o2[2]); // 3.140625
        assertEquals(3.140625f, o2[2]);
    }

    /** Every one of the 65536 binary16 values, through the vector path, against a first-principles decoder. */
    @Test
    void f16AllValues() {
        byte[] b = new byte[65536 * 2];
        for (int i = 0; i < 65536; i++) {
            b[2 * i] = (byte) i;
            b[2 * i + 1] = (byte) (i >>> 8);
        }
        float[] out = new float[65536];
        F16Kernel.INSTANCE.dequantize(seg(b), 0, out, 0, 65536);
        for (int i = 0; i < 65536; i++) {
            float ref = RefDecode.half(i);
            if (Float.isNaN(ref)) {
                assertTrue(Float.isNaN(out[i]), "NaN at " + Integer.toHexString(i));
            } else {
                assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(out[i]), "half 0x" + Integer.toHexString(i));
            }
        }
        // dot over all values (skipping Inf/NaN) against the scalar reference
        float[] x = new float[65536];
        for (int i = 0; i < 65536; i++) {
            int e = (i >>> 10) & 0x1F;
            x[i] = e == 31 ? 0f : ((i * 7919) % 13 - 6) / 7f;
        }
        double ref = 0, mag = 0;
        for (int i = 0; i < 65536; i++) {
            if (x[i] != 0) {
                ref += (double) RefDecode.half(i) * x[i];
                mag += Math.abs((double) RefDecode.half(i) * x[i]);
            }
        }
        // Inf*0 = NaN, so compute the dot on the finite prefix only: values 0x0000..0x7BFF
        int n = 0x7C00;
        double r2 = 0, m2 = 0;
        for (int i = 0; i < n; i++) {
            r2 += (double) RefDecode.half(i) * x[i];
            m2 += Math.abs((double) RefDecode.half(i) * x[i]);
        }
        float got = F16Kernel.INSTANCE.dot(seg(b), 0, x, 0, n);
        assertEquals(r2, got, 1e-5 * m2 + 1e-30);
        assertTrue(mag > 0 && !Double.isNaN(ref));

        // the paired (even/odd) dot over the same finite prefix and over the negative finite halves
        float[] xp = new PairedActivations().permute(x, 0, n).values();
        assertEquals(r2, F16Kernel.INSTANCE.dotPaired(seg(b), 0, x, 0, xp, n), 1e-5 * m2 + 1e-30);
        double r3 = 0, m3 = 0;
        for (int i = 0x8000; i < 0x8000 + n; i++) {
            r3 += (double) RefDecode.half(i) * x[i];
            m3 += Math.abs((double) RefDecode.half(i) * x[i]);
        }
        float[] xp3 = new PairedActivations().permute(x, 0x8000, n).values();
        assertEquals(r3, F16Kernel.INSTANCE.dotPaired(seg(b), 2L * 0x8000, x, 0x8000, xp3, n), 1e-5 * m3 + 1e-30);
        // a row holding +Inf (0x7C00) gives what dot gives: +Inf with a positive weight, NaN for Inf * 0
        float[] ones = new float[64];
        java.util.Arrays.fill(ones, 1f);
        float[] onesP = new PairedActivations().permute(ones, 0, 64).values();
        long at = 2L * (0x7C00 - 40); // 64 halves ending inside the Inf/NaN range
        float want = F16Kernel.INSTANCE.dot(seg(b), at, ones, 0, 64);
        assertTrue(Float.isNaN(want));
        assertTrue(Float.isNaN(F16Kernel.INSTANCE.dotPaired(seg(b), at, ones, 0, onesP, 64)));
        long inf = 2L * (0x7C00 - 63); // 0x7BC1 .. 0x7C00: the last one is +Inf
        assertEquals(Float.POSITIVE_INFINITY, F16Kernel.INSTANCE.dotPaired(seg(b), inf, ones, 0, onesP, 64));
    }

    @Test
    void bf16RoundingMatchesGgml() {
        // 1 + 2^-8 is a tie between 1.0 and 1+2^-7 -> even (1.0); 1 + 3*2^-8 -> rounds up
        assertEquals(0x3F80, Half.floatToBf16(1f + 0x1p-8f) & 0xFFFF);
        assertEquals(0x3F82, Half.floatToBf16(1f + 3 * 0x1p-8f) & 0xFFFF);
        assertEquals(0x3F81, Half.floatToBf16(1f + 0x1p-7f + 0x1p-9f) & 0xFFFF);
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(Float.NaN))));
        assertEquals(Float.NEGATIVE_INFINITY, Half.bf16ToFloat(Half.floatToBf16(Float.NEGATIVE_INFINITY)));
    }

    @Test
    void roundfIsHalfAwayFromZero() {
        assertEquals(3, Half.roundf(2.5f));
        assertEquals(-3, Half.roundf(-2.5f));
        assertEquals(0, Half.roundf(0.49999997f));
        assertEquals(-1, Half.roundf(-0.5f));
        assertEquals(2, Half.roundf(1.6f));
    }

    // ---------------------------------------------------------------- reference quantizers, hand-computed

    @Test
    void q8_0QuantizeKnown() {
        float[] x = new float[32];
        x[0] = 127f; x[1] = 2.5f; x[2] = -2.5f; x[3] = -0.4f; x[4] = -127f; x[5] = 0.5f;
        MemorySegment s = quantize(GGMLType.Q8_0, x, 0);
        byte[] b = bytes(s);
        assertEquals(0x3C00, RefDecode.u16(b, 0));     // d = 1.0
        assertEquals(127, b[2]);
        assertEquals(3, b[3]);                          // roundf(2.5) = 3
        assertEquals(-3, b[4]);                         // roundf(-2.5) = -3
        assertEquals(0, b[5]);
        assertEquals(-127, b[6]);
        assertEquals(1, b[7]);
    }

    @Test
    void q4_0QuantizeKnown() {
        float[] x = new float[32];
        x[0] = -8f;   // max by magnitude -> d = -8/-8 = 1 -> q = (int)(-8+8.5) = 0
        x[1] = 7f;    // (int)15.5 = 15
        x[2] = 0.5f;  // (int)9.0 = 9
        x[3] = 7.9f;  // (int)16.4 = 16 -> clamped to 15
        x[16] = -3.2f; // (int)5.3 = 5 (high nibble of byte 0)
        MemorySegment s = quantize(GGMLType.Q4_0, x, 0);
        byte[] b = bytes(s);
        assertEquals(0x3C00, RefDecode.u16(b, 0));
        assertEquals(0x50, b[2] & 0xFF);   // low 0, high 5
        assertEquals(0x8F, b[3] & 0xFF);   // low 15, high (int)8.5=8
        assertEquals(0x89, b[4] & 0xFF);
        assertEquals(0x8F, b[5] & 0xFF);
    }

    @Test
    void q4_1QuantizeKnown() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = 1f;
        x[0] = -1f;   // min
        x[1] = 14f;   // max -> d = 15/15 = 1
        x[2] = 0.4f;  // (int)(1.4+0.5) = 1
        MemorySegment s = quantize(GGMLType.Q4_1, x, 0);
        byte[] b = bytes(s);
        assertEquals(0x3C00, RefDecode.u16(b, 0));
        assertEquals(0xBC00, RefDecode.u16(b, 2));
        assertEquals(0x20, b[4] & 0xFF);   // e0 = 0, e16 = (1+1)=2
        assertEquals(0x2F, b[5] & 0xFF);   // e1 = 15
        assertEquals(0x21, b[6] & 0xFF);   // e2 = 1
    }

    @Test
    void q5_0QuantizeKnown() {
        float[] x = new float[32];
        x[0] = 16f;   // d = 16/-16 = -1 -> q = (int)(-16+16.5) = 0
        x[1] = -15f;  // (int)(15+16.5) = 31
        x[17] = 1f;   // (int)(-1+16.5) = 15
        MemorySegment s = quantize(GGMLType.Q5_0, x, 0);
        byte[] b = bytes(s);
        assertEquals(0xBC00, RefDecode.u16(b, 0));
        // qh: e1 = 31 has bit4; zeros map to q=(int)16.5=16 -> bit4 set for all other elements except e0 and e17
        long qh = RefDecode.u32(b, 2) & 0xFFFFFFFFL;
        assertEquals(0xFFFFFFFFL & ~(1L | (1L << 17)), qh);
        assertEquals(0x00, b[6] & 0xFF);   // e0 low 0, e16 low (16&15)=0
        assertEquals(0xFF, b[7] & 0xFF);   // e1 low 15, e17 = 15
    }

    @Test
    void q5_1QuantizeKnown() {
        float[] x = new float[32];
        x[0] = 31f;   // max; min = 0 -> d = 1
        x[1] = 17.6f; // (int)18.1 = 18 -> low 2, bit4 set
        MemorySegment s = quantize(GGMLType.Q5_1, x, 0);
        byte[] b = bytes(s);
        assertEquals(0x3C00, RefDecode.u16(b, 2 - 2));
        assertEquals(0x0000, RefDecode.u16(b, 2));
        assertEquals(0b11L, RefDecode.u32(b, 4) & 0xFFFFFFFFL);
        assertEquals(0x0F, b[8] & 0xFF);
        assertEquals(0x02, b[9] & 0xFF);
    }

    // ---------------------------------------------------------------- generic properties for all types

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void quantizeDequantizeErrorBound(GGMLType t) {
        Random rnd = new Random(42 + t.ordinal());
        int n = 32 * 37;
        float[] src = randomData(rnd, n);
        src[5] = 0f;
        for (int j = 64; j < 96; j++) src[j] = 0f;            // an all-zero block
        for (int j = 96; j < 128; j++) src[j] = j == 100 ? -3f : 0f;  // a block with one value
        long pad = 5;
        MemorySegment q = quantize(t, src, pad);
        float[] out = new float[n];
        Kernels.of(t).dequantize(q, pad, out, 0, n);
        for (int b = 0; b < n; b += 32) {
            float amax = 0, max = 0, min = Float.MAX_VALUE, mx = -Float.MAX_VALUE;
            for (int j = b; j < b + 32; j++) {
                if (Math.abs(src[j]) > amax) { amax = Math.abs(src[j]); max = src[j]; }
                min = Math.min(min, src[j]);
                mx = Math.max(mx, src[j]);
            }
            for (int j = b; j < b + 32; j++) {
                double err = Math.abs((double) out[j] - src[j]);
                double bound = switch (t) {
                    case F32 -> 0;
                    case F16 -> Math.abs(src[j]) * EPS16 + 0x1p-25;
                    case BF16 -> Math.abs(src[j]) * 0x1p-8;
                    case Q8_0 -> { double d = amax / 127.0; yield d / 2 + 127 * (d * EPS16 + 0x1p-25) + 1e-6 * amax; }
                    case Q4_0, Q5_0 -> {
                        double d = Math.abs(max) / (t == GGMLType.Q4_0 ? 8.0 : 16.0);
                        double top = t == GGMLType.Q4_0 ? 7.5 : 15.5;   // values above this are clamped
                        double steps = (max != 0 ? src[j] / (max / -(t == GGMLType.Q4_0 ? 8.0 : 16.0)) : 0);
                        double base = steps > top ? d : d / 2;
                        yield base + 16 * (d * EPS16 + 0x1p-25) + 1e-6 * amax;
                    }
                    case Q4_1, Q5_1 -> {
                        double d = (mx - min) / (t == GGMLType.Q4_1 ? 15.0 : 31.0);
                        yield d / 2 + 31 * (d * EPS16 + 0x1p-25) + Math.abs(min) * EPS16 + 0x1p-25 + 1e-6 * (Math.abs(mx) + Math.abs(min));
                    }
                    default -> throw new AssertionError();
                };
                assertTrue(err <= bound, t + " element " + j + ": src " + src[j] + " got " + out[j] + " err " + err + " > bound " + bound);
            }
        }
        // exact values survive: the max-magnitude element of Q8_0/Q4_0/Q5_0 up to the f16 rounding of d
        assertEquals(-3f, out[100], 3 * EPS16 * 8);
        for (int j = 64; j < 96; j++) assertEquals(0f, out[j], 0f, "zero block");
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void dequantizeMatchesReferenceDecoder(GGMLType t) {
        Random rnd = new Random(7 + t.ordinal());
        for (int n : new int[]{32, 64, 96, 320, 4096 + 32}) {
            // random bytes are valid blocks for all quantized types; for float types avoid NaN/Inf by going through quantize
            byte[] raw;
            long pad = 3;
            if (t.isQuantized()) {
                raw = new byte[(int) (pad + t.byteSize(n))];
                rnd.nextBytes(raw);
                for (int ib = 0; ib < n / 32; ib++) {   // keep scales finite: random f16 with small exponent
                    int p = (int) pad + ib * t.typeSize();
                    raw[p + 1] = (byte) (raw[p + 1] & 0x9F);
                    if (t == GGMLType.Q4_1 || t == GGMLType.Q5_1) raw[p + 3] = (byte) (raw[p + 3] & 0x9F);
                }
            } else {
                raw = bytes(quantize(t, randomData(rnd, n), pad));
            }
            MemorySegment s = seg(raw);
            float[] ref = RefDecode.decode(t, raw, (int) pad, n);
            float[] out = new float[n + 9];
            Kernels.of(t).dequantize(s, pad, out, 9, n);
            for (int i = 0; i < n; i++) {
                assertEquals(ref[i], out[9 + i], Math.abs(ref[i]) * 1e-6f, t + " n=" + n + " element " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void dotMatchesScalarSum(GGMLType t) {
        Random rnd = new Random(99 + t.ordinal());
        int[] sizes = t.isQuantized() ? new int[]{32, 64, 96, 160, 1024, 4096 + 96}
                : new int[]{1, 7, 15, 16, 17, 33, 64, 100, 1000, 4096 + 13};
        for (int n : sizes) {
            float[] src = randomData(rnd, n);
            long pad = 7;
            MemorySegment q = quantize(t, src, pad);
            float[] w = RefDecode.decode(t, bytes(q), (int) pad, n);
            float[] x = new float[n + 11];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            double ref = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                ref += (double) w[i] * x[11 + i];
                mag += Math.abs((double) w[i] * x[11 + i]);
            }
            float got = Kernels.of(t).dot(q, pad, x, 11, n);
            assertEquals(ref, got, 1e-5 * mag + 1e-30, t + " n=" + n);
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void rejectsPartialBlocks(GGMLType t) {
        MemorySegment s = Arena.ofAuto().allocate(256);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Kernels.of(t).dot(s, 0, new float[64], 0, 33));
        assertTrue(e.getMessage().contains("33"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void kernelMatmulMatchesDots(GGMLType t) {
        Random rnd = new Random(3 + t.ordinal());
        int rows = 13, cols = t.isQuantized() ? 96 : 45;
        long rowBytes = t.byteSize(cols);
        long pad = 11;
        MemorySegment m = Arena.ofAuto().allocate(pad + rows * rowBytes + 64);
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            float[] src = randomData(rnd, cols);
            Kernels.of(t).quantize(src, 0, cols, m, pad + r * rowBytes);
            float[] d = RefDecode.decode(t, bytes(m), (int) (pad + r * rowBytes), cols);
            System.arraycopy(d, 0, w, r * cols, cols);
        }
        for (int batch : new int[]{1, 3, 4, 5, 8, 11}) {
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            int outStride = rows + 2;
            float[] out = new float[batch * outStride];
            int rowFrom = 2, rowTo = 12;
            Kernels.of(t).matmul(m, pad, rowBytes, rowFrom, rowTo, cols, x, batch, out, outStride, new float[cols]);
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < rows + 2; r++) {
                    if (r < rowFrom || r >= rowTo) {
                        assertEquals(0f, out[b * outStride + r], "untouched " + b + "," + r);
                        continue;
                    }
                    double ref = 0, mag = 0;
                    for (int c = 0; c < cols; c++) {
                        ref += (double) w[r * cols + c] * x[b * cols + c];
                        mag += Math.abs((double) w[r * cols + c] * x[b * cols + c]);
                    }
                    assertEquals(ref, out[b * outStride + r], 1e-5 * mag + 1e-30, t + " batch " + batch + " b " + b + " r " + r);
                }
            }
        }
    }
}
