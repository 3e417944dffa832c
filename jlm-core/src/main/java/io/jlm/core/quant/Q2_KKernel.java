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
import static io.jlm.core.quant.KQuants.L;
import static io.jlm.core.quant.KQuants.LE;
import static io.jlm.core.quant.KQuants.QK_K;
import static io.jlm.core.quant.KQuants.VEC;

/**
 * Kernel for {@link GGMLType#Q2_K}: super-blocks of 256 elements in 84 bytes:
 * {@code scales[16], qs[64], f16 d, f16 dmin}. Scale byte s of 16-element sub-block s holds a 4-bit scale
 * (low nibble) and a 4-bit min (high nibble). Each 128-element half h uses qs[32h..32h+32); for l in [0,32)
 * and j in [0,4) element 128h+32j+l is bits 2j..2j+1 of qs[32h+l] and belongs to sub-block 8h+2j+l/16.
 * value = d*(s&amp;15)*q - dmin*(s&gt;&gt;4), q in [0,3].
 */
public final class Q2_KKernel implements WeightKernel {
    public static final Q2_KKernel INSTANCE = new Q2_KKernel();

    static final int BLOCK_BYTES = 84;
    private static final int OFF_SCALES = 0, OFF_QS = 16, OFF_D = 80, OFF_DMIN = 82;

    private Q2_KKernel() {}

    @Override public GGMLType type() { return GGMLType.Q2_K; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = KQuants.superBlocks("Q2_K", n);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D), dmin = KQuants.f16(seg, p + OFF_DMIN);
            int o = outOff + b * QK_K;
            if (VEC) {
                for (int h = 0; h < 2; h++) {
                    int oh = o + 128 * h;
                    for (int k = 0; k < 32; k += L) {
                        long s = p + OFF_SCALES + 8 * h + k / 16;
                        int s0 = KQuants.u8(seg, s), s1 = KQuants.u8(seg, s + 2);
                        int s2 = KQuants.u8(seg, s + 4), s3 = KQuants.u8(seg, s + 6);
                        IntVector qv = (IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_QS + 32L * h + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        ((FloatVector) qv.and(3).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * (s0 & 0x0F)).sub(dmin * (s0 >>> 4)).intoArray(out, oh + k);
                        ((FloatVector) qv.lanewise(VectorOperators.LSHR, 2).and(3).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * (s1 & 0x0F)).sub(dmin * (s1 >>> 4)).intoArray(out, oh + 32 + k);
                        ((FloatVector) qv.lanewise(VectorOperators.LSHR, 4).and(3).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * (s2 & 0x0F)).sub(dmin * (s2 >>> 4)).intoArray(out, oh + 64 + k);
                        ((FloatVector) qv.lanewise(VectorOperators.LSHR, 6).and(3).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * (s3 & 0x0F)).sub(dmin * (s3 >>> 4)).intoArray(out, oh + 96 + k);
                    }
                }
                continue;
            }
            for (int h = 0; h < 2; h++) {
                long q = p + OFF_QS + 32L * h;
                for (int j = 0; j < 4; j++) {
                    for (int half = 0; half < 2; half++) {
                        int sc = KQuants.u8(seg, p + OFF_SCALES + 8 * h + 2 * j + half);
                        float dl = d * (sc & 0x0F), ml = dmin * (sc >>> 4);
                        int oj = o + 128 * h + 32 * j + 16 * half;
                        for (int l = 0; l < 16; l++) {
                            int v = (seg.get(ValueLayout.JAVA_BYTE, q + 16 * half + l) >>> (2 * j)) & 3;
                            out[oj + l] = dl * v - ml;
                        }
                    }
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        if (!VEC) return KQuants.dotByDequantize(this, BLOCK_BYTES, seg, offset, x, xOff, n);
        int nb = KQuants.superBlocks("Q2_K", n);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D), dmin = KQuants.f16(seg, p + OFF_DMIN);
            int xb = xOff + b * QK_K;
            for (int h = 0; h < 2; h++) {
                int xh = xb + 128 * h;
                for (int k = 0; k < 32; k += L) {
                    long s = p + OFF_SCALES + 8 * h + k / 16;
                    int s0 = KQuants.u8(seg, s), s1 = KQuants.u8(seg, s + 2);
                    int s2 = KQuants.u8(seg, s + 4), s3 = KQuants.u8(seg, s + 6);
                    IntVector qv = (IntVector) ByteVector.fromMemorySegment(B, seg, p + OFF_QS + 32L * h + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    FloatVector q0 = (FloatVector) qv.and(3).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q1 = (FloatVector) qv.lanewise(VectorOperators.LSHR, 2).and(3).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q2 = (FloatVector) qv.lanewise(VectorOperators.LSHR, 4).and(3).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q3 = (FloatVector) qv.lanewise(VectorOperators.LSHR, 6).and(3).convertShape(VectorOperators.I2F, F, 0);
                    acc0 = q0.fma(d * (s0 & 0x0F), -dmin * (s0 >>> 4)).fma(FloatVector.fromArray(F, x, xh + k), acc0);
                    acc1 = q1.fma(d * (s1 & 0x0F), -dmin * (s1 >>> 4)).fma(FloatVector.fromArray(F, x, xh + 32 + k), acc1);
                    acc2 = q2.fma(d * (s2 & 0x0F), -dmin * (s2 >>> 4)).fma(FloatVector.fromArray(F, x, xh + 64 + k), acc2);
                    acc3 = q3.fma(d * (s3 & 0x0F), -dmin * (s3 >>> 4)).fma(FloatVector.fromArray(F, x, xh + 96 + k), acc3);
                }
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Reference quantizer following ggml's {@code quantize_row_q2_K_ref}: per 16-element sub-block a
     * |x|-weighted least-absolute-deviation search of scale and min over 2-bit levels (16 trial scales, each
     * refined by a weighted least-squares solve), the scales and mins quantized to 4 bits against the
     * super-block maxima {@code d}, {@code dmin} (f16), and the levels recomputed with the final scales.
     */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = KQuants.superBlocks("Q2_K", n);
        int[] lv = new int[QK_K];
        int[] laux = new int[16];
        float[] w = new float[16];
        float[] scales = new float[16], mins = new float[16];
        byte[] blk = new byte[BLOCK_BYTES];
        int[] sc = new int[16];
        for (int b = 0; b < nb; b++) {
            int xo = srcOff + b * QK_K;
            long p = offset + (long) b * BLOCK_BYTES;
            java.util.Arrays.fill(blk, (byte) 0);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 16; j++) {
                for (int l = 0; l < 16; l++) w[l] = Math.abs(src[xo + 16 * j + l]);
                scales[j] = KQuants.fitScaleMin(16, 3, src, xo + 16 * j, w, lv, 16 * j, laux,
                        -0.5f, 0.1f, 15, true, mins, j);
                maxScale = Math.max(maxScale, scales[j]);
                maxMin = Math.max(maxMin, mins[j]);
            }
            java.util.Arrays.fill(sc, 0);
            short dh = 0, mh = 0;
            if (maxScale > 0) {
                float iscale = 15f / maxScale;
                for (int j = 0; j < 16; j++) sc[j] = KQuants.clamp(KQuants.nearestInt(iscale * scales[j]), 0, 15);
                dh = Float.floatToFloat16(maxScale / 15f);
            }
            if (maxMin > 0) {
                float iscale = 15f / maxMin;
                for (int j = 0; j < 16; j++) sc[j] |= KQuants.clamp(KQuants.nearestInt(iscale * mins[j]), 0, 15) << 4;
                mh = Float.floatToFloat16(maxMin / 15f);
            }
            float d = Float.float16ToFloat(dh), dmin = Float.float16ToFloat(mh);
            for (int j = 0; j < 16; j++) {
                blk[OFF_SCALES + j] = (byte) sc[j];
                float dl = d * (sc[j] & 0x0F);
                if (dl == 0) continue;
                float dm = dmin * (sc[j] >>> 4);
                for (int l = 0; l < 16; l++) {
                    lv[16 * j + l] = KQuants.clamp(KQuants.nearestInt((src[xo + 16 * j + l] + dm) / dl), 0, 3);
                }
            }
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + l;
                    blk[OFF_QS + 32 * h + l] = (byte) (lv[e] | (lv[e + 32] << 2) | (lv[e + 64] << 4) | (lv[e + 96] << 6));
                }
            }
            blk[OFF_D] = (byte) dh;
            blk[OFF_D + 1] = (byte) (dh >>> 8);
            blk[OFF_DMIN] = (byte) mh;
            blk[OFF_DMIN + 1] = (byte) (mh >>> 8);
            MemorySegment.copy(blk, 0, dst, ValueLayout.JAVA_BYTE, p, BLOCK_BYTES);
        }
    }
}
