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
 * Kernel for {@link GGMLType#Q5_0}: blocks of 32 elements in 22 bytes: f16 scale {@code d}, a little-endian
 * 32-bit {@code qh} whose bit j is bit 4 of element j, then 16 bytes of nibbles (low nibbles elements 0..15,
 * high nibbles 16..31); value = (q - 16) * d.
 */
public final class Q5_0Kernel implements WeightKernel {
    public static final Q5_0Kernel INSTANCE = new Q5_0Kernel();

    static final int QK = 32;
    static final int BLOCK_BYTES = 22;

    private static final boolean VEC = L >= 8 && L <= QK / 2;

    private Q5_0Kernel() {}

    @Override public GGMLType type() { return GGMLType.Q5_0; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = Blocks.count(GGMLType.Q5_0, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            float d = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            int qh = seg.get(Half.INT_LE, p + 2);
            int o = outOff + ib * QK;
            if (VEC) {
                FloatVector dv = FloatVector.broadcast(F, d);
                for (int j = 0; j < QK / 2; j += L) {
                    ByteVector q = ByteVector.fromMemorySegment(B, seg, p + 6 + j, LE);
                    VectorMask<Byte> ml = VectorMask.fromLong(B, qh >>> j);
                    VectorMask<Byte> mh = VectorMask.fromLong(B, qh >>> (QK / 2 + j));
                    ((FloatVector) q.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, ml).sub((byte) 16)
                            .convertShape(VectorOperators.B2F, F, 0)).mul(dv).intoArray(out, o + j);
                    ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 0x10, mh).sub((byte) 16)
                            .convertShape(VectorOperators.B2F, F, 0)).mul(dv).intoArray(out, o + QK / 2 + j);
                }
            } else {
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 6 + j) & 0xFF;
                    int l = (q & 0x0F) | (((qh >>> j) & 1) << 4);
                    int h = (q >>> 4) | (((qh >>> (j + QK / 2)) & 1) << 4);
                    out[o + j] = (l - 16) * d;
                    out[o + j + QK / 2] = (h - 16) * d;
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int nb = Blocks.count(GGMLType.Q5_0, n, QK);
        if (!VEC) {
            float s = 0f;
            for (int ib = 0; ib < nb; ib++) {
                long p = offset + (long) ib * BLOCK_BYTES;
                int xi = xOff + ib * QK;
                int qh = seg.get(Half.INT_LE, p + 2);
                float bs = 0f;
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 6 + j) & 0xFF;
                    int l = (q & 0x0F) | (((qh >>> j) & 1) << 4);
                    int h = (q >>> 4) | (((qh >>> (j + QK / 2)) & 1) << 4);
                    bs += (l - 16) * x[xi + j] + (h - 16) * x[xi + j + QK / 2];
                }
                s += bs * Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            }
            return s;
        }
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        for (int ib = 0; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK;
            float d = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            int qh = seg.get(Half.INT_LE, p + 2);
            FloatVector sl = FloatVector.zero(F), sh = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, seg, p + 6 + j, LE);
                VectorMask<Byte> ml = VectorMask.fromLong(B, qh >>> j);
                VectorMask<Byte> mh = VectorMask.fromLong(B, qh >>> (QK / 2 + j));
                FloatVector lo = (FloatVector) q.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, ml).sub((byte) 16)
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 0x10, mh).sub((byte) 16)
                        .convertShape(VectorOperators.B2F, F, 0);
                sl = lo.fma(FloatVector.fromArray(F, x, xi + j), sl);
                sh = hi.fma(FloatVector.fromArray(F, x, xi + QK / 2 + j), sh);
            }
            FloatVector dv = FloatVector.broadcast(F, d);
            acc0 = sl.fma(dv, acc0);
            acc1 = sh.fma(dv, acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** ggml quantize_row_q5_0_ref: d = (value with the largest magnitude) / -16, q = min(31, (int)(x/d + 16.5)). */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = Blocks.count(GGMLType.Q5_0, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            int s = srcOff + ib * QK;
            long p = offset + (long) ib * BLOCK_BYTES;
            float max = Blocks.signedAbsMax(src, s, QK);
            float d = max / -16f;
            float id = Blocks.inverse(d);
            dst.set(Half.SHORT_LE, p, Float.floatToFloat16(d));
            int qh = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(31, (byte) (int) (src[s + j] * id + 16.5f));
                int q1 = Math.min(31, (byte) (int) (src[s + j + QK / 2] * id + 16.5f));
                dst.set(ValueLayout.JAVA_BYTE, p + 6 + j, (byte) ((q0 & 0x0F) | ((q1 & 0x0F) << 4)));
                qh |= ((q0 & 0x10) >>> 4) << j;
                qh |= ((q1 & 0x10) >>> 4) << (j + QK / 2);
            }
            dst.set(Half.INT_LE, p + 2, qh);
        }
    }
}
