package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Kernel for {@link GGMLType#F16}: little-endian IEEE binary16 rows. The vector paths convert half to float
 * with integer operations (exact for all 65536 inputs including subnormals, infinities and NaN payloads):
 * normal numbers rebias the exponent (+112), Inf/NaN get exponent 255, subnormals are computed as
 * mantissa * 2^-24 (no denormal float arithmetic).
 */
public final class F16Kernel implements WeightKernel {
    public static final F16Kernel INSTANCE = new F16Kernel();

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final boolean VEC = L >= 4;
    private static final VectorSpecies<Integer> I = VEC ? VectorSpecies.of(int.class, F.vectorShape()) : null;
    private static final VectorSpecies<Short> S = VEC ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int REBIAS = 112 << 23;

    private F16Kernel() {}

    @Override public GGMLType type() { return GGMLType.F16; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int i = 0;
        if (VEC) {
            for (; i <= n - L; i += L) {
                IntVector hi = (IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE)
                        .convertShape(VectorOperators.S2I, I, 0);
                IntVector em = hi.and(0x7fff);
                IntVector bits = em.lanewise(VectorOperators.LSHL, 13).add(REBIAS);
                bits = bits.add(REBIAS, em.compare(VectorOperators.GE, 0x7c00));
                IntVector sub = ((FloatVector) em.convert(VectorOperators.I2F, 0)).mul(0x1p-24f).reinterpretAsInts();
                bits = bits.blend(sub, em.compare(VectorOperators.LT, 0x400)).or(hi.and(0x80000000));
                bits.reinterpretAsFloats().intoArray(out, outOff + i);
            }
        }
        for (; i < n; i++) out[outOff + i] = Float.float16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i));
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int i = 0;
        float s = 0f;
        if (VEC) {
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
            for (; i <= n - 2 * L; i += 2 * L) {
                long p = offset + 2L * i;
                IntVector h0 = (IntVector) ShortVector.fromMemorySegment(S, seg, p, LE).convertShape(VectorOperators.S2I, I, 0);
                IntVector h1 = (IntVector) ShortVector.fromMemorySegment(S, seg, p + 2L * L, LE).convertShape(VectorOperators.S2I, I, 0);
                IntVector e0 = h0.and(0x7fff), e1 = h1.and(0x7fff);
                IntVector b0 = e0.lanewise(VectorOperators.LSHL, 13).add(REBIAS);
                IntVector b1 = e1.lanewise(VectorOperators.LSHL, 13).add(REBIAS);
                b0 = b0.add(REBIAS, e0.compare(VectorOperators.GE, 0x7c00));
                b1 = b1.add(REBIAS, e1.compare(VectorOperators.GE, 0x7c00));
                IntVector s0 = ((FloatVector) e0.convert(VectorOperators.I2F, 0)).mul(0x1p-24f).reinterpretAsInts();
                IntVector s1 = ((FloatVector) e1.convert(VectorOperators.I2F, 0)).mul(0x1p-24f).reinterpretAsInts();
                b0 = b0.blend(s0, e0.compare(VectorOperators.LT, 0x400)).or(h0.and(0x80000000));
                b1 = b1.blend(s1, e1.compare(VectorOperators.LT, 0x400)).or(h1.and(0x80000000));
                a0 = b0.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOff + i), a0);
                a1 = b1.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
            }
            s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) s += Float.float16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i)) * x[xOff + i];
        return s;
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(Half.SHORT_LE, offset + 2L * i, Float.floatToFloat16(src[srcOff + i]));
    }
}
