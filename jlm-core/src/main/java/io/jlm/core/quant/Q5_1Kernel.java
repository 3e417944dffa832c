package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.jlm.core.quant.Blocks.B;
import static io.jlm.core.quant.Blocks.F;
import static io.jlm.core.quant.Blocks.L;
import static io.jlm.core.quant.Blocks.LE;

/**
 * Kernel for {@link GGMLType#Q5_1}: blocks of 32 elements in 24 bytes: f16 scale {@code d}, f16 min {@code m},
 * a little-endian 32-bit {@code qh} whose bit j is bit 4 of element j, then 16 bytes of nibbles (low nibbles
 * elements 0..15, high nibbles 16..31); value = q * d + m.
 */
public final class Q5_1Kernel implements WeightKernel {
    public static final Q5_1Kernel INSTANCE = new Q5_1Kernel();

    static final int QK = 32;
    static final int BLOCK_BYTES = 24;

    private static final boolean VEC = L >= 8 && L <= QK / 2;

    private Q5_1Kernel() {}

    @Override public GGMLType type() { return GGMLType.Q5_1; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = Blocks.count(GGMLType.Q5_1, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            float d = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            float m = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + 2));
            int qh = seg.get(Half.INT_LE, p + 4);
            int o = outOff + ib * QK;
            if (VEC) {
                FloatVector dv = FloatVector.broadcast(F, d), mv = FloatVector.broadcast(F, m);
                for (int j = 0; j < QK / 2; j += L) {
                    ByteVector q = ByteVector.fromMemorySegment(B, seg, p + 8 + j, LE);
                    VectorMask<Byte> ml = VectorMask.fromLong(B, qh >>> j);
                    VectorMask<Byte> mh = VectorMask.fromLong(B, qh >>> (QK / 2 + j));
                    ((FloatVector) q.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, ml)
                            .convertShape(VectorOperators.B2F, F, 0)).fma(dv, mv).intoArray(out, o + j);
                    ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 0x10, mh)
                            .convertShape(VectorOperators.B2F, F, 0)).fma(dv, mv).intoArray(out, o + QK / 2 + j);
                }
            } else {
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 8 + j) & 0xFF;
                    int l = (q & 0x0F) | (((qh >>> j) & 1) << 4);
                    int h = (q >>> 4) | (((qh >>> (j + QK / 2)) & 1) << 4);
                    out[o + j] = l * d + m;
                    out[o + j + QK / 2] = h * d + m;
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int nb = Blocks.count(GGMLType.Q5_1, n, QK);
        if (!VEC) {
            float s = 0f;
            for (int ib = 0; ib < nb; ib++) {
                long p = offset + (long) ib * BLOCK_BYTES;
                int xi = xOff + ib * QK;
                int qh = seg.get(Half.INT_LE, p + 4);
                float qs = 0f, xs = 0f;
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 8 + j) & 0xFF;
                    int l = (q & 0x0F) | (((qh >>> j) & 1) << 4);
                    int h = (q >>> 4) | (((qh >>> (j + QK / 2)) & 1) << 4);
                    qs += l * x[xi + j] + h * x[xi + j + QK / 2];
                    xs += x[xi + j] + x[xi + j + QK / 2];
                }
                s += qs * Float.float16ToFloat(seg.get(Half.SHORT_LE, p)) + xs * Float.float16ToFloat(seg.get(Half.SHORT_LE, p + 2));
            }
            return s;
        }
        FloatVector accD = FloatVector.zero(F), accM = FloatVector.zero(F);
        for (int ib = 0; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK;
            float d = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            float m = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + 2));
            int qh = seg.get(Half.INT_LE, p + 4);
            FloatVector sq = FloatVector.zero(F), sx = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, seg, p + 8 + j, LE);
                VectorMask<Byte> ml = VectorMask.fromLong(B, qh >>> j);
                VectorMask<Byte> mh = VectorMask.fromLong(B, qh >>> (QK / 2 + j));
                FloatVector lo = (FloatVector) q.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, ml)
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 0x10, mh)
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector xl = FloatVector.fromArray(F, x, xi + j);
                FloatVector xh = FloatVector.fromArray(F, x, xi + QK / 2 + j);
                sq = lo.fma(xl, sq);
                sq = hi.fma(xh, sq);
                sx = sx.add(xl).add(xh);
            }
            accD = sq.fma(FloatVector.broadcast(F, d), accD);
            accM = sx.fma(FloatVector.broadcast(F, m), accM);
        }
        return accD.add(accM).reduceLanes(VectorOperators.ADD);
    }

    /** ggml quantize_row_q5_1_ref: d = (max-min)/31, m = min, q = (int)((x-min)/d + 0.5) (clamped to 31). */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = Blocks.count(GGMLType.Q5_1, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            int s = srcOff + ib * QK;
            long p = offset + (long) ib * BLOCK_BYTES;
            float min = Blocks.min(src, s, QK), max = Blocks.max(src, s, QK);
            float d = (max - min) / 31f;
            float id = Blocks.inverse(d);
            dst.set(Half.SHORT_LE, p, Float.floatToFloat16(d));
            dst.set(Half.SHORT_LE, p + 2, Float.floatToFloat16(min));
            int qh = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(31, (int) ((src[s + j] - min) * id + 0.5f));
                int q1 = Math.min(31, (int) ((src[s + j + QK / 2] - min) * id + 0.5f));
                dst.set(ValueLayout.JAVA_BYTE, p + 8 + j, (byte) ((q0 & 0x0F) | ((q1 & 0x0F) << 4)));
                qh |= ((q0 & 0x10) >>> 4) << j;
                qh |= ((q1 & 0x10) >>> 4) << (j + QK / 2);
            }
            dst.set(Half.INT_LE, p + 4, qh);
        }
    }
}
