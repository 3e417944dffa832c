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
 * in four integer/float operations, exact for all 65536 inputs: the sign-extended half shifted left by 13
 * and masked with {@code 0x8FFFE000} puts the sign in bit 31 and exponent+mantissa in bits 27..13, i.e. a
 * float whose exponent is 112 too small (a float subnormal for half subnormals); one multiplication by
 * 2^112 rebiases it exactly (a power-of-two scaling of a subnormal is exact). Half Inf/NaN (exponent 31)
 * would come out finite, so lanes with that exponent get float exponent 255 or-ed in (a masked OR; the
 * mantissa, i.e. a NaN payload, is kept as {@link Float#float16ToFloat} keeps it).
 */
public final class F16Kernel implements WeightKernel {
    public static final F16Kernel INSTANCE = new F16Kernel();

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final boolean VEC = L >= 4;
    private static final VectorSpecies<Integer> I = VEC ? VectorSpecies.of(int.class, F.vectorShape()) : null;
    private static final VectorSpecies<Short> S = VEC ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    /** Keeps sign (bit 31) and the 15 exponent+mantissa bits (27..13) of a half shifted left by 13. */
    private static final int KEEP = 0x8FFFE000;
    /** Half exponent 31 (Inf/NaN) as it lands after the shift. */
    private static final int EXP31 = 0x0F800000;
    private static final int FLOAT_EXP = 0x7f800000;

    private F16Kernel() {}

    @Override public GGMLType type() { return GGMLType.F16; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int i = 0;
        if (VEC) {
            for (; i <= n - L; i += L) {
                IntVector g = ((IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE)
                        .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 13);
                FloatVector f = g.and(KEEP).reinterpretAsFloats().mul(0x1p112f);
                f.reinterpretAsInts().lanewise(VectorOperators.OR, FLOAT_EXP, g.and(EXP31).compare(VectorOperators.EQ, EXP31))
                        .reinterpretAsFloats().intoArray(out, outOff + i);
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
                IntVector g0 = ((IntVector) ShortVector.fromMemorySegment(S, seg, p, LE)
                        .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 13);
                IntVector g1 = ((IntVector) ShortVector.fromMemorySegment(S, seg, p + 2L * L, LE)
                        .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 13);
                FloatVector w0 = g0.and(KEEP).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, FLOAT_EXP, g0.and(EXP31).compare(VectorOperators.EQ, EXP31)).reinterpretAsFloats();
                FloatVector w1 = g1.and(KEEP).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .lanewise(VectorOperators.OR, FLOAT_EXP, g1.and(EXP31).compare(VectorOperators.EQ, EXP31)).reinterpretAsFloats();
                a0 = w0.fma(FloatVector.fromArray(F, x, xOff + i), a0);
                a1 = w1.fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
            }
            s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) s += Float.float16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i)) * x[xOff + i];
        return s;
    }

    @Override public boolean hasDotPaired() { return Q8Activations.SUPPORTED; }

    /**
     * Dot with the activations in {@link PairedActivations} order: 16 halves are loaded as 8 ints; the even halves
     * ({@code v << 16}) and the odd ones ({@code v}) are arithmetic-shifted right by 3 and masked, which puts sign,
     * exponent and mantissa where the 4-op conversion of {@link #dot} puts them, then multiplied by 2^112. Inf/NaN
     * halves are detected instead of converted: adding 1 to a 5-bit exponent field of 31 carries into the sign bit;
     * the OR of all such sums is checked once per row, and a row holding one is recomputed by {@link #dot}.
     */
    @Override public float dotPaired(MemorySegment seg, long offset, float[] x, int xOff, float[] xp, int n) {
        FloatVector a0 = FloatVector.zero(Blocks.F8), a1 = FloatVector.zero(Blocks.F8);
        IntVector special = IntVector.zero(I8);
        int i = 0;
        for (; i <= n - 16; i += 16) {
            IntVector v = ShortVector.fromMemorySegment(Blocks.S16, seg, offset + 2L * i, LE).reinterpretAsInts();
            special = special.or(v.and(0x7C007C00).add(0x04000400));
            FloatVector even = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(KEEP)
                    .reinterpretAsFloats().mul(0x1p112f);
            FloatVector odd = v.lanewise(VectorOperators.ASHR, 3).and(KEEP).reinterpretAsFloats().mul(0x1p112f);
            a0 = even.fma(FloatVector.fromArray(Blocks.F8, xp, i), a0);
            a1 = odd.fma(FloatVector.fromArray(Blocks.F8, xp, i + 8), a1);
        }
        if ((special.reduceLanes(VectorOperators.OR) & 0x80008000) != 0) return dot(seg, offset, x, xOff, n);
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += Float.float16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i)) * x[xOff + i];
        return s;
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(Half.SHORT_LE, offset + 2L * i, Float.floatToFloat16(src[srcOff + i]));
    }
}
