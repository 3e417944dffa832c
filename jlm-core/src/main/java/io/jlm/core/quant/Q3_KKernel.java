package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.jlm.core.quant.KQuants.B;
import static io.jlm.core.quant.KQuants.F;
import static io.jlm.core.quant.KQuants.I;
import static io.jlm.core.quant.KQuants.INT_LE;
import static io.jlm.core.quant.KQuants.L;
import static io.jlm.core.quant.KQuants.LE;
import static io.jlm.core.quant.KQuants.LONG_LE;
import static io.jlm.core.quant.KQuants.QK_K;
import static io.jlm.core.quant.KQuants.VEC;

/**
 * Kernel for {@link GGMLType#Q3_K}: super-blocks of 256 elements in 110 bytes:
 * {@code hmask[32], qs[64], scales[12], f16 d}. The 12 scale bytes hold sixteen 6-bit scales (stored +32).
 * Each 128-element half h uses qs[32h..32h+32); for l in [0,32) and j in [0,4) element e = 128h+32j+l has its
 * low 2 bits in bits 2j..2j+1 of qs[32h+l], its high bit in bit 4h+j (= e/32) of hmask[l], and belongs to
 * sub-block 8h+2j+l/16. value = d*(scale-32)*(q - 4), q in [0,7] (high bit set means q &ge; 4).
 */
public final class Q3_KKernel implements WeightKernel {
    public static final Q3_KKernel INSTANCE = new Q3_KKernel();

    static final int BLOCK_BYTES = 110;
    private static final int OFF_HMASK = 0, OFF_QS = 32, OFF_SCALES = 96, OFF_D = 108;

    private Q3_KKernel() {}

    @Override public GGMLType type() { return GGMLType.Q3_K; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = KQuants.superBlocks("Q3_K", n);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D);
            long slo = seg.get(LONG_LE, p + OFF_SCALES);
            int shi = seg.get(INT_LE, p + OFF_SCALES + 8);
            int o = outOff + b * QK_K;
            if (VEC) {
                for (int h = 0; h < 2; h++) {
                    for (int k = 0; k < 32; k += L) {
                        int oh = o + 128 * h + k;
                        IntVector hv = (IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_HMASK + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        IntVector hh = h == 0 ? hv.lanewise(VectorOperators.LSHL, 2) : hv.lanewise(VectorOperators.LSHR, 2);
                        IntVector qv = (IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_QS + 32L * h + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        long sl = seg.get(LONG_LE, p + OFF_SCALES + k / 16);
                        int sh = seg.get(INT_LE, p + OFF_SCALES + 8 + k / 16) >>> (4 * h);
                        int sl4 = (int) (sl >>> (4 * h)), sl4b = (int) (sl >>> (32 + 4 * h));
                        ((FloatVector) qv.and(3).or(hh.and(4)).sub(4).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * (((sl4 & 0x0F) | ((sh << 4) & 0x30)) - 32)).intoArray(out, oh);
                        ((FloatVector) qv.lanewise(VectorOperators.LSHR, 2).and(3)
                                .or(hh.lanewise(VectorOperators.LSHR, 1).and(4)).sub(4).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * ((((sl4 >>> 16) & 0x0F) | ((sh >>> 12) & 0x30)) - 32)).intoArray(out, oh + 32);
                        ((FloatVector) qv.lanewise(VectorOperators.LSHR, 4).and(3)
                                .or(hh.lanewise(VectorOperators.LSHR, 2).and(4)).sub(4).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * (((sl4b & 0x0F) | ((sh << 2) & 0x30)) - 32)).intoArray(out, oh + 64);
                        ((FloatVector) qv.lanewise(VectorOperators.LSHR, 6).and(3)
                                .or(hh.lanewise(VectorOperators.LSHR, 3).and(4)).sub(4).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * ((((sl4b >>> 16) & 0x0F) | ((sh >>> 14) & 0x30)) - 32)).intoArray(out, oh + 96);
                    }
                }
                continue;
            }
            for (int h = 0; h < 2; h++) {
                long q = p + OFF_QS + 32L * h;
                for (int j = 0; j < 4; j++) {
                    for (int half = 0; half < 2; half++) {
                        float dl = d * KQuants.scaleK3(slo, shi, 8 * h + 2 * j + half);
                        int oj = o + 128 * h + 32 * j + 16 * half;
                        for (int l = 0; l < 16; l++) {
                            int v = (seg.get(ValueLayout.JAVA_BYTE, q + 16 * half + l) >>> (2 * j)) & 3;
                            int hb = (seg.get(ValueLayout.JAVA_BYTE, p + OFF_HMASK + 16 * half + l) >>> (4 * h + j)) & 1;
                            out[oj + l] = dl * (v - 4 + 4 * hb);
                        }
                    }
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        if (!VEC) return KQuants.dotByDequantize(this, BLOCK_BYTES, seg, offset, x, xOff, n);
        int nb = KQuants.superBlocks("Q3_K", n);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D);
            int xb = xOff + b * QK_K;
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 32; k += L) {
                    int xh = xb + 128 * h + k;
                    // the high bit of element 128h+32j+l is bit 4h+j of hmask[l]; hh moves bit 4h to bit 2, so
                    // (hh >>> j) & 4 is 4 when the bit is set, or-ed onto the 2 low bits before subtracting 4
                    IntVector hv = (IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_HMASK + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    IntVector hh = h == 0 ? hv.lanewise(VectorOperators.LSHL, 2) : hv.lanewise(VectorOperators.LSHR, 2);
                    IntVector qv = (IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_QS + 32L * h + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    FloatVector q0 = (FloatVector) qv.and(3).or(hh.and(4)).sub(4)
                            .convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q1 = (FloatVector) qv.lanewise(VectorOperators.LSHR, 2).and(3)
                            .or(hh.lanewise(VectorOperators.LSHR, 1).and(4)).sub(4)
                            .convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q2 = (FloatVector) qv.lanewise(VectorOperators.LSHR, 4).and(3)
                            .or(hh.lanewise(VectorOperators.LSHR, 2).and(4)).sub(4)
                            .convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q3 = (FloatVector) qv.lanewise(VectorOperators.LSHR, 6).and(3)
                            .or(hh.lanewise(VectorOperators.LSHR, 3).and(4)).sub(4)
                            .convertShape(VectorOperators.I2F, F, 0);
                    // scales 8h + k/16 + 2t (t = 0..3): low nibbles in bytes k/16 + 2t (nibble h), high 2-bit
                    // fields in bytes 8 + k/16 + 2(t&1) (field 2h + t/2)
                    long sl = seg.get(LONG_LE, p + OFF_SCALES + k / 16);
                    int sh = seg.get(INT_LE, p + OFF_SCALES + 8 + k / 16) >>> (4 * h);
                    int sl4 = (int) (sl >>> (4 * h));
                    int sl4b = (int) (sl >>> (32 + 4 * h));
                    float s0 = d * (((sl4 & 0x0F) | ((sh << 4) & 0x30)) - 32);
                    float s1 = d * ((((sl4 >>> 16) & 0x0F) | ((sh >>> 12) & 0x30)) - 32);
                    float s2 = d * (((sl4b & 0x0F) | ((sh << 2) & 0x30)) - 32);
                    float s3 = d * ((((sl4b >>> 16) & 0x0F) | ((sh >>> 14) & 0x30)) - 32);
                    acc0 = q0.mul(s0).fma(FloatVector.fromArray(F, x, xh), acc0);
                    acc1 = q1.mul(s1).fma(FloatVector.fromArray(F, x, xh + 32), acc1);
                    acc2 = q2.mul(s2).fma(FloatVector.fromArray(F, x, xh + 64), acc2);
                    acc3 = q3.mul(s3).fma(FloatVector.fromArray(F, x, xh + 96), acc3);
                }
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Reference quantizer following ggml's {@code quantize_row_q3_K_ref}: per 16-element sub-block an
     * x^2-weighted iterative least-squares symmetric fit over levels [-4,3], the signed sub-block scales
     * quantized to 6 bits against the super-block scale {@code d = maxScale/-32} (f16), and the 3-bit levels
     * recomputed with the final scales.
     */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = KQuants.superBlocks("Q3_K", n);
        int[] lv = new int[QK_K];
        int[] tmp = new int[16];
        float[] scales = new float[16];
        byte[] blk = new byte[BLOCK_BYTES];
        for (int b = 0; b < nb; b++) {
            int xo = srcOff + b * QK_K;
            long p = offset + (long) b * BLOCK_BYTES;
            java.util.Arrays.fill(blk, (byte) 0);
            float maxScale = 0, amax = 0;
            for (int j = 0; j < 16; j++) {
                scales[j] = KQuants.fitSymmetricIterative(16, 4, src, xo + 16 * j, tmp);
                for (int l = 0; l < 16; l++) lv[16 * j + l] = tmp[l] + 4;
                float a = Math.abs(scales[j]);
                if (a > amax) {
                    amax = a;
                    maxScale = scales[j];
                }
            }
            short dh = 0;
            if (maxScale != 0) {
                float iscale = -32f / maxScale;
                for (int j = 0; j < 16; j++) {
                    int l = KQuants.clamp(KQuants.nearestInt(iscale * scales[j]), -32, 31) + 32;
                    if (j < 8) blk[OFF_SCALES + j] = (byte) (l & 0x0F);
                    else blk[OFF_SCALES + j - 8] |= (byte) ((l & 0x0F) << 4);
                    blk[OFF_SCALES + 8 + (j & 3)] |= (byte) ((l >>> 4) << (2 * (j >>> 2)));
                }
                dh = Float.floatToFloat16(1f / iscale);
            }
            blk[OFF_D] = (byte) dh;
            blk[OFF_D + 1] = (byte) (dh >>> 8);
            float d = Float.float16ToFloat(dh);
            long slo = 0;
            for (int i = 0; i < 8; i++) slo |= (long) (blk[OFF_SCALES + i] & 0xFF) << (8 * i);
            int shi = 0;
            for (int i = 0; i < 4; i++) shi |= (blk[OFF_SCALES + 8 + i] & 0xFF) << (8 * i);
            for (int j = 0; j < 16; j++) {
                float dl = d * KQuants.scaleK3(slo, shi, j);
                if (dl == 0) continue;
                for (int l = 0; l < 16; l++) {
                    lv[16 * j + l] = KQuants.clamp(KQuants.nearestInt(src[xo + 16 * j + l] / dl), -4, 3) + 4;
                }
            }
            for (int e = 0; e < QK_K; e++) {
                if (lv[e] > 3) {
                    blk[OFF_HMASK + (e & 31)] |= (byte) (1 << (e >>> 5));
                    lv[e] -= 4;
                }
            }
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + l;
                    blk[OFF_QS + 32 * h + l] = (byte) (lv[e] | (lv[e + 32] << 2) | (lv[e + 64] << 4) | (lv[e + 96] << 6));
                }
            }
            MemorySegment.copy(blk, 0, dst, ValueLayout.JAVA_BYTE, p, BLOCK_BYTES);
        }
    }
}
