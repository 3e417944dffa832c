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
import static io.jlm.core.quant.KQuants.L;
import static io.jlm.core.quant.KQuants.LE;
import static io.jlm.core.quant.KQuants.QK_K;
import static io.jlm.core.quant.KQuants.VEC;

/**
 * Kernel for {@link GGMLType#Q6_K}: super-blocks of 256 elements in 210 bytes:
 * {@code ql[128], qh[64], int8 scales[16], f16 d}. Each 128-element half h uses ql[64h..64h+64) and
 * qh[32h..32h+32); for l in [0,32) and quarter t in [0,4) element 128h+32t+l has its low 4 bits in
 * ql[64h + l + 32*(t&1)] (low nibble for t&lt;2, high nibble for t&ge;2) and its high 2 bits in bits 2t..2t+1
 * of qh[32h+l]. value = d * scales[e/16] * (q - 32), q in [0,63].
 */
public final class Q6_KKernel implements WeightKernel {
    public static final Q6_KKernel INSTANCE = new Q6_KKernel();

    static final int BLOCK_BYTES = 210;
    private static final int OFF_QL = 0, OFF_QH = 128, OFF_SCALES = 192, OFF_D = 208;

    private Q6_KKernel() {}

    @Override public GGMLType type() { return GGMLType.Q6_K; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = KQuants.superBlocks("Q6_K", n);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D);
            int o = outOff + b * QK_K;
            for (int h = 0; h < 2; h++) {
                long ql = p + OFF_QL + 64L * h, qh = p + OFF_QH + 32L * h, sc = p + OFF_SCALES + 8L * h;
                int oh = o + 128 * h;
                if (VEC) {
                    for (int k = 0; k < 32; k += L) {
                        long s = sc + k / 16;
                        IntVector a = (IntVector) ByteVector.fromMemorySegment(B, seg, ql + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        IntVector c = (IntVector) ByteVector.fromMemorySegment(B, seg, ql + 32 + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        IntVector hb = (IntVector) ByteVector.fromMemorySegment(B, seg, qh + k, LE)
                                .convertShape(VectorOperators.B2I, I, 0);
                        ((FloatVector) a.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30))
                                .sub(32).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * seg.get(ValueLayout.JAVA_BYTE, s)).intoArray(out, oh + k);
                        ((FloatVector) c.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30))
                                .sub(32).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * seg.get(ValueLayout.JAVA_BYTE, s + 2)).intoArray(out, oh + 32 + k);
                        ((FloatVector) a.lanewise(VectorOperators.LSHR, 4).and(0x0F).or(hb.and(0x30))
                                .sub(32).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * seg.get(ValueLayout.JAVA_BYTE, s + 4)).intoArray(out, oh + 64 + k);
                        ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).and(0x0F)
                                .or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30))
                                .sub(32).convertShape(VectorOperators.I2F, F, 0))
                                .mul(d * seg.get(ValueLayout.JAVA_BYTE, s + 6)).intoArray(out, oh + 96 + k);
                    }
                    continue;
                }
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int a = seg.get(ValueLayout.JAVA_BYTE, ql + l);
                    int c = seg.get(ValueLayout.JAVA_BYTE, ql + 32 + l);
                    int hb = seg.get(ValueLayout.JAVA_BYTE, qh + l);
                    int q1 = ((a & 0x0F) | ((hb & 3) << 4)) - 32;
                    int q2 = ((c & 0x0F) | (((hb >>> 2) & 3) << 4)) - 32;
                    int q3 = (((a >>> 4) & 0x0F) | (((hb >>> 4) & 3) << 4)) - 32;
                    int q4 = (((c >>> 4) & 0x0F) | (((hb >>> 6) & 3) << 4)) - 32;
                    out[oh + l] = d * seg.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                    out[oh + 32 + l] = d * seg.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                    out[oh + 64 + l] = d * seg.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                    out[oh + 96 + l] = d * seg.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        if (!VEC) return KQuants.dotByDequantize(this, BLOCK_BYTES, seg, offset, x, xOff, n);
        int nb = KQuants.superBlocks("Q6_K", n);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            float d = KQuants.f16(seg, p + OFF_D);
            int xb = xOff + b * QK_K;
            for (int h = 0; h < 2; h++) {
                long ql = p + OFF_QL + 64L * h, qh = p + OFF_QH + 32L * h, sc = p + OFF_SCALES + 8L * h;
                int xh = xb + 128 * h;
                for (int k = 0; k < 32; k += L) {
                    long s = sc + k / 16;
                    IntVector a = (IntVector) ByteVector.fromMemorySegment(B, seg, ql + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    IntVector c = (IntVector) ByteVector.fromMemorySegment(B, seg, ql + 32 + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    IntVector hb = (IntVector) ByteVector.fromMemorySegment(B, seg, qh + k, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    FloatVector q1 = (FloatVector) a.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30))
                            .sub(32).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q2 = (FloatVector) c.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30))
                            .sub(32).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q3 = (FloatVector) a.lanewise(VectorOperators.LSHR, 4).and(0x0F).or(hb.and(0x30))
                            .sub(32).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector q4 = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).and(0x0F)
                            .or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30))
                            .sub(32).convertShape(VectorOperators.I2F, F, 0);
                    acc0 = q1.mul(d * seg.get(ValueLayout.JAVA_BYTE, s)).fma(FloatVector.fromArray(F, x, xh + k), acc0);
                    acc1 = q2.mul(d * seg.get(ValueLayout.JAVA_BYTE, s + 2)).fma(FloatVector.fromArray(F, x, xh + 32 + k), acc1);
                    acc2 = q3.mul(d * seg.get(ValueLayout.JAVA_BYTE, s + 4)).fma(FloatVector.fromArray(F, x, xh + 64 + k), acc2);
                    acc3 = q4.mul(d * seg.get(ValueLayout.JAVA_BYTE, s + 6)).fma(FloatVector.fromArray(F, x, xh + 96 + k), acc3);
                }
            }
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }

    @Override public boolean hasDotQ8() { return Q8Activations.SUPPORTED; }

    @Override public Q8Activations.Layout dotQ8Layout() { return Q8Activations.Layout.Q8_K; }

    /**
     * Integer dot against {@link Q8Activations.Layout#Q8_K} activations (one scale per super-block): per 16-element
     * sub-block the 6-bit quants are assembled in 16-bit lanes from {@code ql} and {@code qh}, offset by -32 and
     * multiplied by the activation quants (products within 32 * 127); adjacent 16-bit lanes are summed into 32-bit
     * lanes by shifts and multiplied by the sub-block's int8 scale, all in integers (a lane stays within
     * 16 * 128 * 2 * 4064); once per super-block the sum is converted to float and scaled by {@code d * d_x}.
     */
    @Override public float dotQ8(MemorySegment seg, long offset, Q8Activations x, int xOff, int n) {
        int nb = KQuants.superBlocks("Q6_K", n);
        short[] xq = x.q();
        float[] xd = x.d();
        FloatVector acc = FloatVector.zero(Blocks.F8);
        for (int b = 0; b < nb; b++) {
            long p = offset + (long) b * BLOCK_BYTES;
            int xi = xOff + b * QK_K;
            IntVector isum = IntVector.zero(IntVector.SPECIES_256);
            for (int h = 0; h < 2; h++) {
                long ql = p + OFF_QL + 64L * h, qh = p + OFF_QH + 32L * h;
                long sc = seg.get(KQuants.LONG_LE, p + OFF_SCALES + 8L * h);
                int xh = xi + 128 * h;
                ShortVector a0 = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, ql, LE).convertShape(VectorOperators.B2S, Blocks.S16, 0);
                ShortVector a1 = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, ql + 16, LE).convertShape(VectorOperators.B2S, Blocks.S16, 0);
                ShortVector c0 = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, ql + 32, LE).convertShape(VectorOperators.B2S, Blocks.S16, 0);
                ShortVector c1 = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, ql + 48, LE).convertShape(VectorOperators.B2S, Blocks.S16, 0);
                ShortVector h0 = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, qh, LE).convertShape(VectorOperators.B2S, Blocks.S16, 0);
                ShortVector h1 = (ShortVector) ByteVector.fromMemorySegment(Blocks.B16, seg, qh + 16, LE).convertShape(VectorOperators.B2S, Blocks.S16, 0);
                // qh bits 2t..2t+1 moved to bits 4..5 for t = 0 (hl) and t = 1 (hm); t = 2, 3 shift them back by 4
                ShortVector hl0 = h0.lanewise(VectorOperators.LSHL, 4), hl1 = h1.lanewise(VectorOperators.LSHL, 4);
                ShortVector hm0 = h0.lanewise(VectorOperators.LSHL, 2), hm1 = h1.lanewise(VectorOperators.LSHL, 2);
                for (int u = 0; u < 2; u++) {
                    // quarters t = 2u (low bits from ql[0..32)) and 2u+1 (from ql[32..64)): nibble u of ql, qh bits
                    // 2t..2t+1; quarter t is elements 32t .. 32t+32 of the half, sub-blocks 2t and 2t+1
                    int sq = 4 * u;
                    ShortVector qa0 = a0.lanewise(VectorOperators.ASHR, sq).and((short) 0x0F)
                            .or(hl0.lanewise(VectorOperators.ASHR, sq).and((short) 0x30)).sub((short) 32);
                    ShortVector qa1 = a1.lanewise(VectorOperators.ASHR, sq).and((short) 0x0F)
                            .or(hl1.lanewise(VectorOperators.ASHR, sq).and((short) 0x30)).sub((short) 32);
                    ShortVector qc0 = c0.lanewise(VectorOperators.ASHR, sq).and((short) 0x0F)
                            .or(hm0.lanewise(VectorOperators.ASHR, sq).and((short) 0x30)).sub((short) 32);
                    ShortVector qc1 = c1.lanewise(VectorOperators.ASHR, sq).and((short) 0x0F)
                            .or(hm1.lanewise(VectorOperators.ASHR, sq).and((short) 0x30)).sub((short) 32);
                    int xa = xh + 64 * u, xc = xa + 32;
                    IntVector ma0 = qa0.mul(ShortVector.fromArray(Blocks.S16, xq, xa)).reinterpretAsInts();
                    IntVector ma1 = qa1.mul(ShortVector.fromArray(Blocks.S16, xq, xa + 16)).reinterpretAsInts();
                    IntVector mc0 = qc0.mul(ShortVector.fromArray(Blocks.S16, xq, xc)).reinterpretAsInts();
                    IntVector mc1 = qc1.mul(ShortVector.fromArray(Blocks.S16, xq, xc + 16)).reinterpretAsInts();
                    IntVector ia0 = ma0.add(ma0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                    IntVector ia1 = ma1.add(ma1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                    IntVector ic0 = mc0.add(mc0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                    IntVector ic1 = mc1.add(mc1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                    long sct = sc >>> (32 * u);
                    isum = isum.add(ia0.mul((int) (byte) sct)).add(ia1.mul((int) (byte) (sct >>> 8)))
                            .add(ic0.mul((int) (byte) (sct >>> 16))).add(ic1.mul((int) (byte) (sct >>> 24)));
                }
            }
            float d = KQuants.f16(seg, p + OFF_D);
            acc = ((FloatVector) isum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(Blocks.F8, d * xd[xi / QK_K]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Reference quantizer following ggml's {@code quantize_row_q6_K_ref}: per 16-element sub-block an
     * x^2-weighted least-squares symmetric scale (19 trial scales around max|x|/32), the sub-block scales are
     * quantized to int8 against the super-block scale {@code d = maxScale/-128} (f16), and the 6-bit levels
     * are recomputed with the final scales.
     */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = KQuants.superBlocks("Q6_K", n);
        int[] lv = new int[QK_K];
        float[] scales = new float[16];
        byte[] blk = new byte[BLOCK_BYTES];
        for (int b = 0; b < nb; b++) {
            int xo = srcOff + b * QK_K;
            long p = offset + (long) b * BLOCK_BYTES;
            java.util.Arrays.fill(blk, (byte) 0);
            java.util.Arrays.fill(lv, 32);
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++) {
                float s = KQuants.fitSymmetricSearch(16, 32, src, xo + 16 * ib);
                scales[ib] = s;
                if (Math.abs(s) > maxAbsScale) {
                    maxAbsScale = Math.abs(s);
                    maxScale = s;
                }
            }
            if (maxAbsScale >= KQuants.GROUP_MAX_EPS) {
                float iscale = -128f / maxScale;
                short dh = Float.floatToFloat16(1f / iscale);
                float d = Float.float16ToFloat(dh);
                blk[OFF_D] = (byte) dh;
                blk[OFF_D + 1] = (byte) (dh >>> 8);
                for (int ib = 0; ib < 16; ib++) {
                    int sc = Math.min(127, KQuants.nearestInt(iscale * scales[ib]));
                    blk[OFF_SCALES + ib] = (byte) sc;
                    float dl = d * (byte) sc;
                    if (dl == 0) continue;
                    for (int i = 0; i < 16; i++) {
                        int l = KQuants.clamp(KQuants.nearestInt(src[xo + 16 * ib + i] / dl), -32, 31);
                        lv[16 * ib + i] = l + 32;
                    }
                }
                for (int h = 0; h < 2; h++) {
                    for (int l = 0; l < 32; l++) {
                        int e = 128 * h + l;
                        int q1 = lv[e], q2 = lv[e + 32], q3 = lv[e + 64], q4 = lv[e + 96];
                        blk[OFF_QL + 64 * h + l] = (byte) ((q1 & 0x0F) | ((q3 & 0x0F) << 4));
                        blk[OFF_QL + 64 * h + 32 + l] = (byte) ((q2 & 0x0F) | ((q4 & 0x0F) << 4));
                        blk[OFF_QH + 32 * h + l] = (byte) ((q1 >>> 4) | ((q2 >>> 4) << 2) | ((q3 >>> 4) << 4) | ((q4 >>> 4) << 6));
                    }
                }
            }
            MemorySegment.copy(blk, 0, dst, ValueLayout.JAVA_BYTE, p, BLOCK_BYTES);
        }
    }
}
