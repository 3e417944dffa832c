package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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
 * Kernel for {@link GGMLType#Q4_K}: super-blocks of 256 elements in 144 bytes:
 * {@code f16 d, f16 dmin, scales[12], qs[128]}. The 12 scale bytes hold eight 6-bit scales {@code sc} and
 * eight 6-bit mins {@code m} (one per 32-element sub-block). Each 64-element chunk c uses qs[32c..32c+32):
 * low nibbles are elements 64c+0..31 (sub-block 2c), high nibbles elements 64c+32..63 (sub-block 2c+1).
 * value = d*sc*q - dmin*m.
 */
public final class Q4_KKernel implements WeightKernel {
    public static final Q4_KKernel INSTANCE = new Q4_KKernel();

    static final int BLOCK_BYTES = 144;
    private static final int OFF_D = 0, OFF_DMIN = 2, OFF_SCALES = 4, OFF_QS = 16;

    private Q4_KKernel() {}

    @Override public GGMLType type() { return GGMLType.Q4_K; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = KQuants.superBlocks("Q4_K", n);
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
                        ((FloatVector) qi.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).mul(vd1).sub(vm1)
                                .intoArray(out, oc + k);
                        ((FloatVector) qi.lanewise(VectorOperators.LSHR, 4).and(0x0F).convertShape(VectorOperators.I2F, F, 0))
                                .mul(vd2).sub(vm2).intoArray(out, oc + 32 + k);
                    }
                    continue;
                }
                for (int l = 0; l < 32; l++) {
                    int v = seg.get(ValueLayout.JAVA_BYTE, q + l);
                    out[oc + l] = d1 * (v & 0x0F) - m1;
                    out[oc + 32 + l] = d2 * ((v >>> 4) & 0x0F) - m2;
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        if (!VEC) return KQuants.dotByDequantize(this, BLOCK_BYTES, seg, offset, x, xOff, n);
        int nb = KQuants.superBlocks("Q4_K", n);
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
                    FloatVector lo = (FloatVector) qi.and(0x0F).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector hi = (FloatVector) qi.lanewise(VectorOperators.LSHR, 4).and(0x0F)
                            .convertShape(VectorOperators.I2F, F, 0);
                    acc0 = lo.fma(d1, m1).fma(FloatVector.fromArray(F, x, xc + k), acc0);
                    acc1 = hi.fma(d2, m2).fma(FloatVector.fromArray(F, x, xc + 32 + k), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override public boolean hasDotQ8() { return Q8Activations.SUPPORTED; }

    @Override public Q8Activations.Layout dotQ8Layout() { return Q8Activations.Layout.Q8_K; }

    /**
     * Integer dot against {@link Q8Activations.Layout#Q8_K} activations (one scale per super-block): per 64-element
     * chunk the 32 quant bytes widen to two 16-short vectors; low nibbles multiply the activation quants of
     * sub-block 2c, high nibbles those of sub-block 2c+1 (products within 15 * 127, two summed per 16-bit lane);
     * adjacent 16-bit lanes are summed into 32-bit lanes by shifts and multiplied by the 6-bit sub-block scale, all
     * in integers (a lane stays within 8 * 63 * 4 * 1905); once per super-block the sum is converted to float and
     * scaled by {@code d * d_x}. The minimum term is {@code dmin * d_x * sum_j m_j * sum(q_x of sub-block j)}.
     */
    @Override public float dotQ8(MemorySegment seg, long offset, Q8Activations x, int xOff, int n) {
        int nb = KQuants.superBlocks("Q4_K", n);
        short[] xq = x.q();
        float[] xd = x.d();
        int[] xs = x.sums();
        FloatVector acc = FloatVector.zero(Blocks.F8);
        float mins = 0f;
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            long slo = seg.get(LONG_LE, p + OFF_SCALES);
            long shi = seg.get(INT_LE, p + OFF_SCALES + 8) & 0xFFFFFFFFL;
            // the eight 6-bit scales and mins, one per byte (KQuants.scaleK4 / minK4 for all j at once)
            long sc8 = (slo & 0x3F3F3F3FL) | (((shi & 0x0F0F0F0FL) | (((slo >>> 6) & 0x03030303L) << 4)) << 32);
            long mn8 = ((slo >>> 32) & 0x3F3F3F3FL) | ((((shi >>> 4) & 0x0F0F0F0FL) | (((slo >>> 38) & 0x03030303L) << 4)) << 32);
            int xi = xOff + b * QK_K, xj = xi / Q8Activations.QK;
            float dx = xd[xi / QK_K];
            int msum = 0;
            IntVector isum = IntVector.zero(IntVector.SPECIES_256);
            for (int c = 0; c < 4; c++) {
                int s0 = 16 * c, s1 = s0 + 8;
                msum += (int) ((mn8 >>> s0) & 0xFF) * xs[xj + 2 * c] + (int) ((mn8 >>> s1) & 0xFF) * xs[xj + 2 * c + 1];
                long q = p + OFF_QS + 32L * c;
                int xc = xi + 64 * c;
                ShortVector qa = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, q, LE)
                        .convertShape(VectorOperators.B2S, Blocks.S16, 0);
                ShortVector qb = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, q + 16, LE)
                        .convertShape(VectorOperators.B2S, Blocks.S16, 0);
                IntVector m0 = qa.and((short) 0x0F).mul(ShortVector.fromArray(Blocks.S16, xq, xc))
                        .add(qb.and((short) 0x0F).mul(ShortVector.fromArray(Blocks.S16, xq, xc + 16))).reinterpretAsInts();
                IntVector m1 = qa.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).mul(ShortVector.fromArray(Blocks.S16, xq, xc + 32))
                        .add(qb.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).mul(ShortVector.fromArray(Blocks.S16, xq, xc + 48)))
                        .reinterpretAsInts();
                IntVector i0 = m0.add(m0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                IntVector i1 = m1.add(m1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                isum = isum.add(i0.mul((int) ((sc8 >>> s0) & 0xFF))).add(i1.mul((int) ((sc8 >>> s1) & 0xFF)));
            }
            float d = KQuants.f16(seg, p + OFF_D), dmin = KQuants.f16(seg, p + OFF_DMIN);
            acc = ((FloatVector) isum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(Blocks.F8, d * dx), acc);
            mins += dmin * dx * msum;
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    /**
     * Reference quantizer following ggml's {@code quantize_row_q4_K_ref}: per 32-element sub-block a weighted
     * (weights {@code rms(block) + |x|}) least-squares fit of scale and min over 4-bit levels (20 trial scales),
     * then scales and mins are quantized to 6 bits against the super-block maxima {@code d}, {@code dmin}
     * (stored as f16) and the levels are recomputed with the final, quantized scales.
     */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = KQuants.superBlocks("Q4_K", n);
        int[] lv = new int[QK_K];
        int[] laux = new int[32];
        float[] w = new float[32];
        float[] scales = new float[8], mins = new float[8];
        int[] ls = new int[8], lm = new int[8];
        byte[] qs = new byte[128];
        for (int b = 0; b < nb; b++) {
            int xo = srcOff + b * QK_K;
            long p = offset + (long) b * BLOCK_BYTES;
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) sumX2 += src[xo + 32 * j + l] * src[xo + 32 * j + l];
                float av = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) w[l] = av + Math.abs(src[xo + 32 * j + l]);
                scales[j] = KQuants.fitScaleMin(32, 15, src, xo + 32 * j, w, lv, 32 * j, laux,
                        -1f, 0.1f, 20, false, mins, j);
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
                    lv[32 * j + l] = KQuants.clamp(KQuants.nearestInt((src[xo + 32 * j + l] + dm) / dl), 0, 15);
                }
            }
            for (int c = 0; c < 4; c++) {
                for (int l = 0; l < 32; l++) {
                    qs[32 * c + l] = (byte) (lv[64 * c + l] | (lv[64 * c + 32 + l] << 4));
                }
            }
            MemorySegment.copy(qs, 0, dst, ValueLayout.JAVA_BYTE, p + OFF_QS, 128);
        }
    }
}
