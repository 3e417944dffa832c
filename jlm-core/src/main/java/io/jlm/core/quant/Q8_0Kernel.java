package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.jlm.core.quant.Blocks.B;
import static io.jlm.core.quant.Blocks.B16;
import static io.jlm.core.quant.Blocks.F;
import static io.jlm.core.quant.Blocks.F8;
import static io.jlm.core.quant.Blocks.L;
import static io.jlm.core.quant.Blocks.LE;
import static io.jlm.core.quant.Blocks.S16;

/**
 * Kernel for {@link GGMLType#Q8_0}: blocks of 32 elements in 34 bytes: f16 scale {@code d}, then 32 int8
 * quants {@code q}; value = q * d.
 */
public final class Q8_0Kernel implements WeightKernel {
    public static final Q8_0Kernel INSTANCE = new Q8_0Kernel();

    static final int QK = 32;
    static final int BLOCK_BYTES = 34;

    /** Vector paths need a byte species with L lanes (at least 64 bits). */
    private static final boolean VEC = L >= 8 && L <= QK;

    private Q8_0Kernel() {}

    @Override public GGMLType type() { return GGMLType.Q8_0; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = Blocks.count(GGMLType.Q8_0, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            float d = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            int o = outOff + ib * QK;
            if (VEC) {
                FloatVector dv = FloatVector.broadcast(F, d);
                for (int j = 0; j < QK; j += L) {
                    ((FloatVector) ByteVector.fromMemorySegment(B, seg, p + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0))
                            .mul(dv).intoArray(out, o + j);
                }
            } else {
                for (int j = 0; j < QK; j++) out[o + j] = seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p + 2 + j) * d;
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int nb = Blocks.count(GGMLType.Q8_0, n, QK);
        if (!VEC) {
            float s = 0f;
            for (int ib = 0; ib < nb; ib++) {
                long p = offset + (long) ib * BLOCK_BYTES;
                float bs = 0f;
                for (int j = 0; j < QK; j++) bs += seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p + 2 + j) * x[xOff + ib * QK + j];
                s += bs * Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            }
            return s;
        }
        // four blocks per iteration, four independent accumulators (the scale fma of one block does not wait for
        // the previous block's)
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F), acc2 = FloatVector.zero(F), acc3 = FloatVector.zero(F);
        int ib = 0;
        for (; ib + 3 < nb; ib += 4) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK;
            float d0 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            float d1 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + BLOCK_BYTES));
            float d2 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + 2 * BLOCK_BYTES));
            float d3 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + 3 * BLOCK_BYTES));
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            for (int j = 0; j < QK; j += L) {
                FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(B, seg, p + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                FloatVector q1 = (FloatVector) ByteVector.fromMemorySegment(B, seg, p + BLOCK_BYTES + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                FloatVector q2 = (FloatVector) ByteVector.fromMemorySegment(B, seg, p + 2 * BLOCK_BYTES + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                FloatVector q3 = (FloatVector) ByteVector.fromMemorySegment(B, seg, p + 3 * BLOCK_BYTES + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                s0 = q0.fma(FloatVector.fromArray(F, x, xi + j), s0);
                s1 = q1.fma(FloatVector.fromArray(F, x, xi + QK + j), s1);
                s2 = q2.fma(FloatVector.fromArray(F, x, xi + 2 * QK + j), s2);
                s3 = q3.fma(FloatVector.fromArray(F, x, xi + 3 * QK + j), s3);
            }
            acc0 = s0.fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, d1), acc1);
            acc2 = s2.fma(FloatVector.broadcast(F, d2), acc2);
            acc3 = s3.fma(FloatVector.broadcast(F, d3), acc3);
        }
        acc0 = acc0.add(acc2);
        acc1 = acc1.add(acc3);
        for (; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK;
            float d0 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            FloatVector s0 = FloatVector.zero(F);
            for (int j = 0; j < QK; j += L) {
                FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(B, seg, p + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                s0 = q0.fma(FloatVector.fromArray(F, x, xi + j), s0);
            }
            acc0 = s0.fma(FloatVector.broadcast(F, d0), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override public boolean hasDotQ8() { return Q8Activations.SUPPORTED; }

    /**
     * Integer dot: per block the 32 int8 weights widen to two 16-short vectors and multiply the activation quants
     * (|w * x| <= 128 * 127, so the sum of the two halves still fits 16 bits); adjacent 16-bit lanes are summed into
     * 32-bit lanes by shifts (sign-extend the low half, arithmetic-shift the high half), converted to float once per
     * block and scaled by d_w * d_x. Two blocks per iteration, two accumulators.
     */
    @Override public float dotQ8(MemorySegment seg, long offset, Q8Activations x, int xOff, int n) {
        int nb = Blocks.count(GGMLType.Q8_0, n, QK);
        short[] xq = x.q();
        float[] xd = x.d();
        int xb = xOff / QK;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = FloatVector.zero(F8);
        int ib = 0;
        for (; ib + 1 < nb; ib += 2) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK;
            float d0 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p)) * xd[xb + ib];
            float d1 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + BLOCK_BYTES)) * xd[xb + ib + 1];
            ShortVector w00 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, p + 2, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector w01 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, p + 18, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector w10 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, p + BLOCK_BYTES + 2, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector w11 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, p + BLOCK_BYTES + 18, LE).convertShape(VectorOperators.B2S, S16, 0);
            IntVector m0 = w00.mul(ShortVector.fromArray(S16, xq, xi)).add(w01.mul(ShortVector.fromArray(S16, xq, xi + 16))).reinterpretAsInts();
            IntVector m1 = w10.mul(ShortVector.fromArray(S16, xq, xi + 32)).add(w11.mul(ShortVector.fromArray(S16, xq, xi + 48))).reinterpretAsInts();
            IntVector i0 = m0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(m0.lanewise(VectorOperators.ASHR, 16));
            IntVector i1 = m1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(m1.lanewise(VectorOperators.ASHR, 16));
            acc0 = ((FloatVector) i0.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F8, d0), acc0);
            acc1 = ((FloatVector) i1.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F8, d1), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK, sum = 0;
            for (int j = 0; j < QK; j++) sum += seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p + 2 + j) * xq[xi + j];
            s += sum * (Float.float16ToFloat(seg.get(Half.SHORT_LE, p)) * xd[xb + ib]);
        }
        return s;
    }

    /** ggml quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d). */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = Blocks.count(GGMLType.Q8_0, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            int s = srcOff + ib * QK;
            long p = offset + (long) ib * BLOCK_BYTES;
            float amax = 0f;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[s + j]));
            float d = amax / 127f;
            float id = Blocks.inverse(d);
            dst.set(Half.SHORT_LE, p, Float.floatToFloat16(d));
            for (int j = 0; j < QK; j++) {
                dst.set(java.lang.foreign.ValueLayout.JAVA_BYTE, p + 2 + j, (byte) Half.roundf(src[s + j] * id));
            }
        }
    }
}
