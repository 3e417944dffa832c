package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.jlm.core.quant.Blocks.B;
import static io.jlm.core.quant.Blocks.B16;
import static io.jlm.core.quant.Blocks.F;
import static io.jlm.core.quant.Blocks.F8;
import static io.jlm.core.quant.Blocks.L;
import static io.jlm.core.quant.Blocks.LE;
import static io.jlm.core.quant.Blocks.S16;

/**
 * Kernel for {@link GGMLType#Q4_0}: blocks of 32 elements in 18 bytes: f16 scale {@code d}, then 16 bytes
 * whose low nibbles are elements 0..15 and high nibbles elements 16..31; value = (q - 8) * d.
 */
public final class Q4_0Kernel implements WeightKernel {
    public static final Q4_0Kernel INSTANCE = new Q4_0Kernel();

    static final int QK = 32;
    static final int BLOCK_BYTES = 18;

    private static final boolean VEC = L >= 8 && L <= QK / 2;
    private static final VectorSpecies<Integer> I = VEC ? VectorSpecies.of(int.class, F.vectorShape()) : null;
    /** Bits of 2^23 as float: OR-ing a small integer q into the mantissa gives the float 2^23 + q. */
    private static final int MAGIC = 0x4B000000;
    private static final float MAGIC_8 = 8388608f + 8f;

    private Q4_0Kernel() {}

    @Override public GGMLType type() { return GGMLType.Q4_0; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = Blocks.count(GGMLType.Q4_0, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            float d = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            int o = outOff + ib * QK;
            if (VEC) {
                FloatVector dv = FloatVector.broadcast(F, d);
                for (int j = 0; j < QK / 2; j += L) {
                    ByteVector q = ByteVector.fromMemorySegment(B, seg, p + 2 + j, LE);
                    ((FloatVector) q.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(dv).intoArray(out, o + j);
                    ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(dv)
                            .intoArray(out, o + QK / 2 + j);
                }
            } else {
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 2 + j) & 0xFF;
                    out[o + j] = ((q & 0x0F) - 8) * d;
                    out[o + j + QK / 2] = ((q >>> 4) - 8) * d;
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int nb = Blocks.count(GGMLType.Q4_0, n, QK);
        if (!VEC) {
            float s = 0f;
            for (int ib = 0; ib < nb; ib++) {
                long p = offset + (long) ib * BLOCK_BYTES;
                int xi = xOff + ib * QK;
                float bs = 0f;
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 2 + j) & 0xFF;
                    bs += ((q & 0x0F) - 8) * x[xi + j] + ((q >>> 4) - 8) * x[xi + j + QK / 2];
                }
                s += bs * Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            }
            return s;
        }
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int ib = 0;
        for (; ib + 1 < nb; ib += 2) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK;
            float d0 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            float d1 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + BLOCK_BYTES));
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                // nibbles widened once to int lanes; (2^23 + q) as float minus (2^23 + 8) is exactly q - 8
                IntVector q0 = (IntVector) ByteVector.fromMemorySegment(B, seg, p + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector q1 = (IntVector) ByteVector.fromMemorySegment(B, seg, p + BLOCK_BYTES + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector l0 = q0.and(0x0F).or(MAGIC).reinterpretAsFloats().sub(MAGIC_8);
                FloatVector h0 = q0.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretAsFloats().sub(MAGIC_8);
                FloatVector l1 = q1.and(0x0F).or(MAGIC).reinterpretAsFloats().sub(MAGIC_8);
                FloatVector h1 = q1.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretAsFloats().sub(MAGIC_8);
                s0 = l0.fma(FloatVector.fromArray(F, x, xi + j), s0);
                s1 = l1.fma(FloatVector.fromArray(F, x, xi + QK + j), s1);
                s0 = h0.fma(FloatVector.fromArray(F, x, xi + QK / 2 + j), s0);
                s1 = h1.fma(FloatVector.fromArray(F, x, xi + QK + QK / 2 + j), s1);
            }
            acc0 = s0.fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, d1), acc1);
        }
        if (ib < nb) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK;
            float d0 = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            FloatVector s0 = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                IntVector q0 = (IntVector) ByteVector.fromMemorySegment(B, seg, p + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector l0 = q0.and(0x0F).or(MAGIC).reinterpretAsFloats().sub(MAGIC_8);
                FloatVector h0 = q0.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretAsFloats().sub(MAGIC_8);
                s0 = l0.fma(FloatVector.fromArray(F, x, xi + j), s0);
                s0 = h0.fma(FloatVector.fromArray(F, x, xi + QK / 2 + j), s0);
            }
            acc0 = s0.fma(FloatVector.broadcast(F, d0), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** ggml quantize_row_q4_0_ref: d = (value with the largest magnitude) / -8, q = min(15, (int)(x/d + 8.5)). */
    @Override public boolean hasDotQ8() { return Q8Activations.SUPPORTED; }

    /**
     * Integer dot: the 16 quant bytes of a block widen to 16 shorts; low nibbles minus 8 multiply activation quants
     * 0..15, high nibbles minus 8 quants 16..31 (products within +-1016), adjacent 16-bit lanes are summed into 32-bit
     * lanes by shifts, converted to float once per block and scaled by d_w * d_x. Two blocks per iteration.
     */
    @Override public float dotQ8(MemorySegment seg, long offset, Q8Activations x, int xOff, int n) {
        int nb = Blocks.count(GGMLType.Q4_0, n, QK);
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
            ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, p + 2, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, p + BLOCK_BYTES + 2, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector lo0 = q0.and((short) 0x0F).sub((short) 8), hi0 = q0.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).sub((short) 8);
            ShortVector lo1 = q1.and((short) 0x0F).sub((short) 8), hi1 = q1.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).sub((short) 8);
            IntVector m0 = lo0.mul(ShortVector.fromArray(S16, xq, xi)).add(hi0.mul(ShortVector.fromArray(S16, xq, xi + 16))).reinterpretAsInts();
            IntVector m1 = lo1.mul(ShortVector.fromArray(S16, xq, xi + 32)).add(hi1.mul(ShortVector.fromArray(S16, xq, xi + 48))).reinterpretAsInts();
            IntVector i0 = m0.add(m0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            IntVector i1 = m1.add(m1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
            acc0 = ((FloatVector) i0.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F8, d0), acc0);
            acc1 = ((FloatVector) i1.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F8, d1), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            int xi = xOff + ib * QK, sum = 0;
            for (int j = 0; j < QK / 2; j++) {
                int q = seg.get(ValueLayout.JAVA_BYTE, p + 2 + j) & 0xFF;
                sum += ((q & 0x0F) - 8) * xq[xi + j] + ((q >>> 4) - 8) * xq[xi + j + QK / 2];
            }
            s += sum * (Float.float16ToFloat(seg.get(Half.SHORT_LE, p)) * xd[xb + ib]);
        }
        return s;
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = Blocks.count(GGMLType.Q4_0, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            int s = srcOff + ib * QK;
            long p = offset + (long) ib * BLOCK_BYTES;
            float max = Blocks.signedAbsMax(src, s, QK);
            float d = max / -8f;
            float id = Blocks.inverse(d);
            dst.set(Half.SHORT_LE, p, Float.floatToFloat16(d));
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(15, (byte) (int) (src[s + j] * id + 8.5f));
                int q1 = Math.min(15, (byte) (int) (src[s + j + QK / 2] * id + 8.5f));
                dst.set(ValueLayout.JAVA_BYTE, p + 2 + j, (byte) (q0 | (q1 << 4)));
            }
        }
    }
}
