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
 * Kernel for {@link GGMLType#Q5_K}: super-blocks of 256 elements in 176 bytes:
 * {@code f16 d, f16 dmin, scales[12], qh[32], qs[128]}. Scales/mins as in Q4_K (6-bit, one pair per
 * 32-element sub-block). Each 64-element chunk c uses qs[32c..32c+32): low nibbles are elements 64c+0..31
 * (sub-block 2c), high nibbles elements 64c+32..63 (sub-block 2c+1); the fifth bit of element 64c+l is bit 2c
 * of qh[l] and that of element 64c+32+l is bit 2c+1 of qh[l]. value = d*sc*q - dmin*m, q in [0,31].
 */
public final class Q5_KKernel implements WeightKernel {
    public static final Q5_KKernel INSTANCE = new Q5_KKernel();

    static final int BLOCK_BYTES = 176;
    private static final int OFF_D = 0, OFF_DMIN = 2, OFF_SCALES = 4, OFF_QH = 16, OFF_QS = 48;

    private Q5_KKernel() {}

    @Override public GGMLType type() { return GGMLType.Q5_K; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = KQuants.superBlocks("Q5_K", n);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D), dmin = KQuants.f16(seg, p + OFF_DMIN);
            long slo = seg.get(LONG_LE, p + OFF_SCALES);
            int shi = seg.get(INT_LE, p + OFF_SCALES + 8);
            int o = outOff + b * QK_K;
            for (int c = 0; c < 4; c++) {
                float d1 = d * KQuants.scaleK4(slo, shi, 2 * c), m1 = dmin * KQuants.minK4(slo, shi, 2 * c);
                float d2 = d * KQuants.scaleK4(slo, shi, 2 * c + 1), m2 = dmin * KQuants.minK4(slo, shi, 2 * c + 1);
                long q = p + OFF_QS + 32L * c;
                int oc = o + 64 * c;
                if (VEC) {
                    FloatVector vd1 = FloatVector.broadcast(F, d1), vm1 = FloatVector.broadcast(F, m1);
                    FloatVector vd2 = FloatVector.broadcast(F, d2), vm2 = FloatVector.broadcast(F, m2);
                    for (int k = 0; k < 32; k += L) {
                        IntVector qi = (IntVector) ByteVector.fromMemorySegment(B, seg, q + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        IntVector hv = ((IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_QH + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0)).lanewise(VectorOperators.LSHR, 2 * c);
                        ((FloatVector) qi.and(0x0F).or(hv.lanewise(VectorOperators.LSHL, 4).and(0x10))
                                .convertShape(VectorOperators.I2F, F, 0)).mul(vd1).sub(vm1).intoArray(out, oc + k);
                        ((FloatVector) qi.lanewise(VectorOperators.LSHR, 4).and(0x0F)
                                .or(hv.lanewise(VectorOperators.LSHL, 3).and(0x10))
                                .convertShape(VectorOperators.I2F, F, 0)).mul(vd2).sub(vm2).intoArray(out, oc + 32 + k);
                    }
                    continue;
                }
                for (int l = 0; l < 32; l++) {
                    int v = seg.get(ValueLayout.JAVA_BYTE, q + l);
                    int h = seg.get(ValueLayout.JAVA_BYTE, p + OFF_QH + l) >>> (2 * c);
                    out[oc + l] = d1 * ((v & 0x0F) | ((h & 1) << 4)) - m1;
                    out[oc + 32 + l] = d2 * (((v >>> 4) & 0x0F) | ((h & 2) << 3)) - m2;
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        if (!VEC) return KQuants.dotByDequantize(this, BLOCK_BYTES, seg, offset, x, xOff, n);
        int nb = KQuants.superBlocks("Q5_K", n);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D), dmin = KQuants.f16(seg, p + OFF_DMIN);
            long slo = seg.get(LONG_LE, p + OFF_SCALES);
            int shi = seg.get(INT_LE, p + OFF_SCALES + 8);
            int xb = xOff + b * QK_K;
            for (int c = 0; c < 4; c++) {
                FloatVector d1 = FloatVector.broadcast(F, d * KQuants.scaleK4(slo, shi, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, -dmin * KQuants.minK4(slo, shi, 2 * c));
                FloatVector d2 = FloatVector.broadcast(F, d * KQuants.scaleK4(slo, shi, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, -dmin * KQuants.minK4(slo, shi, 2 * c + 1));
                long q = p + OFF_QS + 32L * c;
                int xc = xb + 64 * c;
                for (int k = 0; k < 32; k += L) {
                    IntVector qi = (IntVector) ByteVector.fromMemorySegment(B, seg, q + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    IntVector hv = ((IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_QH + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0)).lanewise(VectorOperators.LSHR, 2 * c);
                    FloatVector lo = (FloatVector) qi.and(0x0F).or(hv.lanewise(VectorOperators.LSHL, 4).and(0x10))
                            .convertShape(VectorOperators.I2F, F, 0);
                    FloatVector hi = (FloatVector) qi.lanewise(VectorOperators.LSHR, 4).and(0x0F)
                            .or(hv.lanewise(VectorOperators.LSHL, 3).and(0x10))
                            .convertShape(VectorOperators.I2F, F, 0);
                    acc0 = lo.fma(d1, m1).fma(FloatVector.fromArray(F, x, xc + k), acc0);
                    acc1 = hi.fma(d2, m2).fma(FloatVector.fromArray(F, x, xc + 32 + k), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Reference quantizer following ggml's {@code quantize_row_q5_K_ref}: per 32-element sub-block a weighted
     * (weights {@code rms(block) + |x|}) least-squares fit of scale and min over 5-bit levels (16 trial scales),
     * then scales and mins are quantized to 6 bits against the super-block maxima {@code d}, {@code dmin}
     * (stored as f16) and the levels are recomputed with the final, quantized scales.
     */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = KQuants.superBlocks("Q5_K", n);
        int[] lv = new int[QK_K];
        int[] laux = new int[32];
        float[] w = new float[32];
        float[] scales = new float[8], mins = new float[8];
        int[] ls = new int[8], lm = new int[8];
        byte[] qs = new byte[128], qh = new byte[32];
        for (int b = 0; b < nb; b++) {
            int xo = srcOff + b * QK_K;
            long p = offset + (long) b * BLOCK_BYTES;
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) sumX2 += src[xo + 32 * j + l] * src[xo + 32 * j + l];
                float av = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) w[l] = av + Math.abs(src[xo + 32 * j + l]);
                scales[j] = KQuants.fitScaleMin(32, 31, src, xo + 32 * j, w, lv, 32 * j, laux,
                        -0.5f, 0.1f, 15, false, mins, j);
                maxScale = Math.max(maxScale, scales[j]);
                maxMin = Math.max(maxMin, mins[j]);
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            for (int j = 0; j < 8; j++) {
                ls[j] = KQuants.clamp(KQuants.nearestInt(invScale * scales[j]), 0, 63);
                lm[j] = KQuants.clamp(KQuants.nearestInt(invMin * mins[j]), 0, 63);
            }
            short dh = Float.floatToFloat16(maxScale / 63f), mh = Float.floatToFloat16(maxMin / 63f);
            dst.set(KQuants.SHORT_LE, p + OFF_D, dh);
            dst.set(KQuants.SHORT_LE, p + OFF_DMIN, mh);
            KQuants.packScalesK4(ls, lm, dst, p + OFF_SCALES);
            float d = Float.float16ToFloat(dh), dmin = Float.float16ToFloat(mh);
            for (int j = 0; j < 8; j++) {
                float dl = d * ls[j];
                if (dl == 0) continue;
                float dm = dmin * lm[j];
                for (int l = 0; l < 32; l++) {
                    lv[32 * j + l] = KQuants.clamp(KQuants.nearestInt((src[xo + 32 * j + l] + dm) / dl), 0, 31);
                }
            }
            java.util.Arrays.fill(qh, (byte) 0);
            for (int c = 0; c < 4; c++) {
                for (int l = 0; l < 32; l++) {
                    int a = lv[64 * c + l], bb = lv[64 * c + 32 + l];
                    qs[32 * c + l] = (byte) ((a & 0x0F) | ((bb & 0x0F) << 4));
                    qh[l] |= (byte) (((a >>> 4) << (2 * c)) | ((bb >>> 4) << (2 * c + 1)));
                }
            }
            MemorySegment.copy(qh, 0, dst, ValueLayout.JAVA_BYTE, p + OFF_QH, 32);
            MemorySegment.copy(qs, 0, dst, ValueLayout.JAVA_BYTE, p + OFF_QS, 128);
        }
    }
}
