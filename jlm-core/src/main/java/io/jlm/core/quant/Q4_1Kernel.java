package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.jlm.core.quant.Blocks.B;
import static io.jlm.core.quant.Blocks.F;
import static io.jlm.core.quant.Blocks.L;
import static io.jlm.core.quant.Blocks.LE;

/**
 * Kernel for {@link GGMLType#Q4_1}: blocks of 32 elements in 20 bytes: f16 scale {@code d}, f16 min {@code m},
 * then 16 bytes of nibbles (low nibbles elements 0..15, high nibbles 16..31); value = q * d + m.
 */
public final class Q4_1Kernel implements WeightKernel {
    public static final Q4_1Kernel INSTANCE = new Q4_1Kernel();

    static final int QK = 32;
    static final int BLOCK_BYTES = 20;

    private static final boolean VEC = L >= 8 && L <= QK / 2;
    private static final VectorSpecies<Integer> I = VEC ? VectorSpecies.of(int.class, F.vectorShape()) : null;
    private static final int MAGIC = 0x4B000000;   // bits of 2^23
    private static final float MAGIC_F = 8388608f;

    private Q4_1Kernel() {}

    @Override public GGMLType type() { return GGMLType.Q4_1; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int nb = Blocks.count(GGMLType.Q4_1, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            long p = offset + (long) ib * BLOCK_BYTES;
            float d = Float.float16ToFloat(seg.get(Half.SHORT_LE, p));
            float m = Float.float16ToFloat(seg.get(Half.SHORT_LE, p + 2));
            int o = outOff + ib * QK;
            if (VEC) {
                FloatVector dv = FloatVector.broadcast(F, d), mv = FloatVector.broadcast(F, m);
                for (int j = 0; j < QK / 2; j += L) {
                    ByteVector q = ByteVector.fromMemorySegment(B, seg, p + 4 + j, LE);
                    ((FloatVector) q.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(dv, mv).intoArray(out, o + j);
                    ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).fma(dv, mv)
                            .intoArray(out, o + QK / 2 + j);
                }
            } else {
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 4 + j) & 0xFF;
                    out[o + j] = (q & 0x0F) * d + m;
                    out[o + j + QK / 2] = (q >>> 4) * d + m;
                }
            }
        }
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int nb = Blocks.count(GGMLType.Q4_1, n, QK);
        if (!VEC) {
            float s = 0f;
            for (int ib = 0; ib < nb; ib++) {
                long p = offset + (long) ib * BLOCK_BYTES;
                int xi = xOff + ib * QK;
                float qs = 0f, xs = 0f;
                for (int j = 0; j < QK / 2; j++) {
                    int q = seg.get(ValueLayout.JAVA_BYTE, p + 4 + j) & 0xFF;
                    qs += (q & 0x0F) * x[xi + j] + (q >>> 4) * x[xi + j + QK / 2];
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
            FloatVector sq = FloatVector.zero(F), sx = FloatVector.zero(F);
            for (int j = 0; j < QK / 2; j += L) {
                // nibbles widened once to int lanes; (2^23 + q) as float minus 2^23 is exactly q
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, p + 4 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector lo = q.and(0x0F).or(MAGIC).reinterpretAsFloats().sub(MAGIC_F);
                FloatVector hi = q.lanewise(VectorOperators.LSHR, 4).or(MAGIC).reinterpretAsFloats().sub(MAGIC_F);
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

    /** ggml quantize_row_q4_1_ref: d = (max-min)/15, m = min, q = min(15, (int)((x-min)/d + 0.5)). */
    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        int nb = Blocks.count(GGMLType.Q4_1, n, QK);
        for (int ib = 0; ib < nb; ib++) {
            int s = srcOff + ib * QK;
            long p = offset + (long) ib * BLOCK_BYTES;
            float min = Blocks.min(src, s, QK), max = Blocks.max(src, s, QK);
            float d = (max - min) / 15f;
            float id = Blocks.inverse(d);
            dst.set(Half.SHORT_LE, p, Float.floatToFloat16(d));
            dst.set(Half.SHORT_LE, p + 2, Float.floatToFloat16(min));
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(15, (byte) (int) ((src[s + j] - min) * id + 0.5f));
                int q1 = Math.min(15, (byte) (int) ((src[s + j + QK / 2] - min) * id + 0.5f));
                dst.set(ValueLayout.JAVA_BYTE, p + 4 + j, (byte) (q0 | (q1 << 4)));
            }
        }
    }
}
