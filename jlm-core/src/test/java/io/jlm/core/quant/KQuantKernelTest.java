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

class KQuantKernelTest {

    static WeightKernel kernel(GGMLType t) {
        return switch (t) {
            case Q2_K -> Q2_KKernel.INSTANCE;
            case Q3_K -> Q3_KKernel.INSTANCE;
            case Q4_K -> Q4_KKernel.INSTANCE;
            case Q5_K -> Q5_KKernel.INSTANCE;
            case Q6_K -> Q6_KKernel.INSTANCE;
            default -> throw new IllegalArgumentException();
        };
    }

    /** Byte offsets of the f16 fields of each type (relative to the block start). */
    static int[] f16Fields(GGMLType t) {
        return switch (t) {
            case Q2_K -> new int[]{80, 82};
            case Q3_K -> new int[]{108};
            case Q4_K, Q5_K -> new int[]{0, 2};
            case Q6_K -> new int[]{208};
            default -> throw new IllegalArgumentException();
        };
    }

    /** Random super-blocks: all bits random except the f16 fields, which get finite values of moderate size. */
    static byte[] randomBlocks(GGMLType t, int blocks, Random r) {
        byte[] data = new byte[blocks * t.typeSize()];
        r.nextBytes(data);
        for (int b = 0; b < blocks; b++) {
            for (int f : f16Fields(t)) {
                short h = Float.floatToFloat16((r.nextFloat() * 2 - 0.5f) * 0.01f);
                data[b * t.typeSize() + f] = (byte) h;
                data[b * t.typeSize() + f + 1] = (byte) (h >> 8);
            }
        }
        return data;
    }

    static MemorySegment segmentWith(Arena arena, byte[] data, int pad) {
        MemorySegment seg = arena.allocate(data.length + 2L * pad);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_BYTE, pad, data.length);
        return seg;
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void dequantizeMatchesIndependentDecoderOnRandomBlocks(GGMLType t) {
        Random r = new Random(42 + t.id());
        int blocks = 5, pad = 7, outOff = 3;
        byte[] data = randomBlocks(t, blocks, r);
        float[] expected = KQuantRef.decode(t, data, blocks);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = segmentWith(arena, data, pad);
            float[] out = new float[outOff + blocks * 256 + 2];
            out[0] = 123f;
            out[out.length - 1] = 456f;
            kernel(t).dequantize(seg, pad, out, outOff, blocks * 256);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], out[outOff + i], 0f, t + " element " + i);
            }
            assertEquals(123f, out[0]);
            assertEquals(456f, out[out.length - 1]);
            // a single row starting at a later block
            float[] one = new float[256];
            kernel(t).dequantize(seg, pad + 2L * t.typeSize(), one, 0, 256);
            for (int i = 0; i < 256; i++) assertEquals(expected[512 + i], one[i], 0f);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void dotEqualsSumOverDequantizedElements(GGMLType t) {
        Random r = new Random(7 + t.id());
        int blocks = 6, pad = 13, xOff = 5;
        byte[] data = randomBlocks(t, blocks, r);
        float[] w = KQuantRef.decode(t, data, blocks);
        float[] x = new float[xOff + w.length + 3];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = segmentWith(arena, data, pad);
            for (int nb = 1; nb <= blocks; nb++) {
                int n = nb * 256;
                double ref = 0, mag = 0;
                for (int i = 0; i < n; i++) {
                    ref += (double) w[i] * x[xOff + i];
                    mag += Math.abs((double) w[i] * x[xOff + i]);
                }
                float got = kernel(t).dot(seg, pad, x, xOff, n);
                assertEquals(ref, got, 1e-5 * mag + 1e-30, t + " dot over " + nb + " blocks");
                float viaFallback = KQuants.dotByDequantize(kernel(t), t.typeSize(), seg, pad, x, xOff, n);
                assertEquals(ref, viaFallback, 1e-5 * mag + 1e-30, t + " fallback dot");
            }
            // row offset: second block on its own
            double ref = 0, mag = 0;
            for (int i = 0; i < 256; i++) {
                ref += (double) w[256 + i] * x[i];
                mag += Math.abs((double) w[256 + i] * x[i]);
            }
            assertEquals(ref, kernel(t).dot(seg, pad + t.typeSize(), x, 0, 256), 1e-5 * mag);
        }
    }

    static double relRms(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) a[i] * a[i];
        }
        return Math.sqrt(num / den);
    }

    static float[] roundTrip(GGMLType t, float[] src) {
        try (Arena arena = Arena.ofConfined()) {
            int pad = 3;
            MemorySegment seg = arena.allocate(t.byteSize(src.length) + 2 * pad);
            kernel(t).quantize(src, 0, src.length, seg, pad);
            float[] out = new float[src.length];
            kernel(t).dequantize(seg, pad, out, 0, src.length);
            // the quantized bytes must also decode identically with the independent decoder
            byte[] bytes = seg.asSlice(pad, t.byteSize(src.length)).toArray(ValueLayout.JAVA_BYTE);
            float[] ref = KQuantRef.decode(t, bytes, src.length / 256);
            assertArrayEquals(ref, out, 0f);
            return out;
        }
    }

    /**
     * Upper bounds of relative RMS error for gaussian data, about 8% above what llama.cpp's own quantization of
     * the synth-llama models measures (Q2_K 0.300, Q3_K 0.152, Q4_K 0.072, Q5_K 0.036, Q6_K 0.018).
     */
    static double bound(GGMLType t) {
        return switch (t) {
            case Q2_K -> 0.325;
            case Q3_K -> 0.165;
            case Q4_K -> 0.078;
            case Q5_K -> 0.040;
            case Q6_K -> 0.020;
            default -> throw new IllegalArgumentException();
        };
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void quantizeRoundTripHasBoundedError(GGMLType t) {
        Random r = new Random(99 + t.id());
        float[] src = new float[64 * 256];
        for (int i = 0; i < src.length; i++) src[i] = (float) r.nextGaussian() * 0.02f;
        float[] out = roundTrip(t, src);
        double err = relRms(src, out);
        System.out.printf("%s gaussian round trip: relative RMS error %.4f%n", t, err);
        assertTrue(err < bound(t), t + " relative RMS error " + err + " >= " + bound(t));

        // shifted (all positive) data and data with varying magnitude per sub-block
        float[] shifted = new float[16 * 256];
        for (int i = 0; i < shifted.length; i++) {
            shifted[i] = 3f + (float) r.nextGaussian() * (1 + (i / 32) % 5);
        }
        double err2 = relRms(shifted, roundTrip(t, shifted));
        System.out.printf("%s shifted/varying round trip: relative RMS error %.4f%n", t, err2);
        assertTrue(err2 < bound(t), t + " shifted data error " + err2);
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void quantizeEdgeCases(GGMLType t) {
        float[] zeros = new float[512];
        float[] out = roundTrip(t, zeros);
        for (float v : out) assertEquals(0f, v, 0f);

        float[] mixed = new float[512];
        for (int i = 0; i < 256; i++) mixed[i] = 0f;           // all-zero first super-block
        for (int i = 256; i < 512; i++) mixed[i] = (i % 16 == 0) ? 1e3f : -1e-3f; // outliers
        out = roundTrip(t, mixed);
        for (int i = 0; i < 256; i++) assertEquals(0f, out[i], 0f, "zero block element " + i);
        for (int i = 256; i < 512; i++) {
            assertTrue(Float.isFinite(out[i]));
            if (i % 16 == 0) assertEquals(1e3f, out[i], 1e3f * 0.15f, t + " outlier " + i);
        }

        float[] constant = new float[256];
        java.util.Arrays.fill(constant, 0.75f);
        out = roundTrip(t, constant);
        for (float v : out) assertEquals(0.75f, v, 0.75f * 0.15f, t + " constant");
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void rejectsCountsThatAreNotWholeSuperBlocks(GGMLType t) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(1024);
            var ex = assertThrows(IllegalArgumentException.class, () -> kernel(t).dot(seg, 0, new float[300], 0, 300));
            assertTrue(ex.getMessage().contains(t.name()) && ex.getMessage().contains("256"), ex.getMessage());
            assertThrows(IllegalArgumentException.class, () -> kernel(t).dequantize(seg, 0, new float[300], 0, 100));
            assertThrows(IllegalArgumentException.class,
                    () -> kernel(t).quantize(new float[300], 0, 300, seg, 0));
        }
    }

    // ---- hand-computed blocks: expected values worked out by hand from the format definitions ----

    static MemorySegment blockOf(Arena arena, byte[] blk) {
        MemorySegment seg = arena.allocate(blk.length);
        MemorySegment.copy(blk, 0, seg, ValueLayout.JAVA_BYTE, 0, blk.length);
        return seg;
    }

    static void putF16(byte[] b, int off, float v) {
        short h = Float.floatToFloat16(v);
        b[off] = (byte) h;
        b[off + 1] = (byte) (h >> 8);
    }

    @Test
    void q4kHandComputed() {
        byte[] b = new byte[144];
        putF16(b, 0, 0.5f);   // d
        putF16(b, 2, 0.25f);  // dmin
        // scales: sub-block 0: sc = 3, m = 2 (bytes 0 and 4); sub-block 5: sc from byte 9 low nibble (= 7)
        // plus the top 2 bits of byte 1 (= 1) -> 7 + 16 = 23; m from byte 9 high nibble (= 4) + top bits of
        // byte 5 (= 2) -> 4 + 32 = 36.
        b[4] = 3;
        b[8] = 2;
        b[5] = (byte) 0x40;          // sc1 = 0, top bits 01
        b[9] = (byte) 0x80;          // m1 = 0, top bits 10
        b[4 + 9] = (byte) 0x47;      // byte 9 of scales
        // element 0: low nibble of qs[0]; element 32 (sub-block 1): high nibble of qs[0]
        b[16] = (byte) 0xA9;         // q(0) = 9, q(32) = 10
        // element 64*2 + 32 + 5 = 165 is in sub-block 5: high nibble of qs[32*2 + 5]
        b[16 + 69] = (byte) 0xC0;    // q(165) = 12, q(133) = 0
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[256];
            Q4_KKernel.INSTANCE.dequantize(blockOf(arena, b), 0, out, 0, 256);
            assertEquals(0.5f * 3 * 9 - 0.25f * 2, out[0]);       // 13.0
            assertEquals(0.5f * 0 * 10 - 0.25f * 0, out[32]);      // sub-block 1: sc = 0, m = 0
            assertEquals(0.5f * 23 * 12 - 0.25f * 36, out[165]);   // 138 - 9 = 129
            assertEquals(-0.25f * 2, out[1]);                      // q = 0 in sub-block 0
        }
    }

    @Test
    void q6kHandComputed() {
        byte[] b = new byte[210];
        putF16(b, 208, 0.125f);
        b[192] = 4;                  // scale of elements 0..15
        b[192 + 13] = -3;            // scale of elements 208..223
        b[0] = (byte) 0x5F;          // ql[0]: element 0 low nibble 15, element 64 low nibble 5
        b[128] = (byte) 0b10_00_00_10; // qh[0]: element 0 high bits 2, element 96 high bits 2
        // element 209 = 128 + 64 + 17 (h=1, t=2, l=17): high nibble of ql[64 + 17], bits 4..5 of qh[32 + 17]
        b[64 + 17] = (byte) 0x30;    // low 4 bits 3
        b[128 + 32 + 17] = (byte) 0b00_11_00_00; // high bits 3 -> q = 3 + 48 = 51
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[256];
            Q6_KKernel.INSTANCE.dequantize(blockOf(arena, b), 0, out, 0, 256);
            assertEquals(0.125f * 4 * ((15 | (2 << 4)) - 32), out[0]);   // 0.5 * 15 = 7.5
            assertEquals(0.125f * -3 * (51 - 32), out[209]);             // -7.125
            assertEquals(0.125f * 4 * -32, out[1]);                       // all-zero bits -> q = -32
        }
    }

    @Test
    void q3kHandComputed() {
        byte[] b = new byte[110];
        putF16(b, 108, 2f);
        // scale 0: low nibble of byte 0 = 5, high bits = bits 0..1 of byte 8 = 2 -> 5 + 32 = 37 -> 37 - 32 = 5
        b[96] = 0x05;
        b[96 + 8] = 0x02;
        // scale 13: high nibble of byte 5 (= 1), high bits = bits 6..7 of byte 9 (= 0) -> 1 - 32 = -31
        b[96 + 5] = 0x10;
        // element 0: qs[0] bits 0..1 = 3, hmask[0] bit 0 set -> q = 3
        b[32] = 0x03;
        b[0] = 0x01;
        // element 210 = 128 + 2*32 + 18 (h=1, j=2, l=18): bits 4..5 of qs[32 + 18] = 1; hmask[18] bit 6 clear
        b[32 + 32 + 18] = 0x10;
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[256];
            Q3_KKernel.INSTANCE.dequantize(blockOf(arena, b), 0, out, 0, 256);
            assertEquals(2f * 5 * 3, out[0]);
            assertEquals(2f * -31 * (1 - 4), out[210]);       // 186
            assertEquals(2f * 5 * -4, out[1]);                 // scale 0, q 0, no high bit
        }
    }

    @Test
    void q2kAndQ5kHandComputed() {
        byte[] b = new byte[84];
        putF16(b, 80, 0.5f);
        putF16(b, 82, 1f);
        b[0] = 0x31;                 // sub-block 0: scale 1, min 3
        b[13] = (byte) 0x2F;         // sub-block 13 (elements 208..223): scale 15, min 2
        b[16] = (byte) 0b11_00_00_10; // qs[0]: element 0 -> 2, element 96 -> 3
        // element 209 = 128 + 64 + 17 -> bits 4..5 of qs[32 + 17]
        b[16 + 32 + 17] = 0b01_00_00;
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[256];
            Q2_KKernel.INSTANCE.dequantize(blockOf(arena, b), 0, out, 0, 256);
            assertEquals(0.5f * 1 * 2 - 3f, out[0]);
            assertEquals(0.5f * 15 * 1 - 2f, out[209]);
            assertEquals(-3f, out[1]);
        }
        byte[] c = new byte[176];
        putF16(c, 0, 1f);
        putF16(c, 2, 0.5f);
        c[4] = 2;                    // sub-block 0 scale 2
        c[8] = 6;                    // sub-block 0 min 6
        c[4 + 3] = 1;                // sub-block 3 scale 1, min 0
        c[48] = 0x0F;                // element 0 low nibble 15
        c[16] = 0x01;                // element 0 fifth bit -> q = 31
        c[48 + 32 + 4] = (byte) 0xE0; // element 64 + 32 + 4 = 100 (sub-block 3): high nibble 14
        c[16 + 4] = 0x08;            // qh[4] bit 3 -> element 100 fifth bit -> q = 30
        try (Arena arena = Arena.ofConfined()) {
            float[] out = new float[256];
            Q5_KKernel.INSTANCE.dequantize(blockOf(arena, c), 0, out, 0, 256);
            assertEquals(1f * 2 * 31 - 0.5f * 6, out[0]);   // 59
            assertEquals(30f, out[100]);
            assertEquals(-3f, out[1]);
        }
    }
}
