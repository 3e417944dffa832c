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

/** Kernel for {@link GGMLType#BF16}: little-endian bfloat16 rows (the high 16 bits of a float32). */
public final class BF16Kernel implements WeightKernel {
    public static final BF16Kernel INSTANCE = new BF16Kernel();

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final boolean VEC = L >= 4;
    private static final VectorSpecies<Integer> I = VEC ? VectorSpecies.of(int.class, F.vectorShape()) : null;
    private static final VectorSpecies<Short> S = VEC ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private BF16Kernel() {}

    @Override public GGMLType type() { return GGMLType.BF16; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int i = 0;
        if (VEC) {
            for (; i <= n - L; i += L) {
                ((IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(out, outOff + i);
            }
        }
        for (; i < n; i++) out[outOff + i] = Half.bf16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i));
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int i = 0;
        float s = 0f;
        if (VEC) {
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
            for (; i <= n - 2 * L; i += 2 * L) {
                long p = offset + 2L * i;
                FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(S, seg, p, LE).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector w1 = ((IntVector) ShortVector.fromMemorySegment(S, seg, p + 2L * L, LE).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                a0 = w0.fma(FloatVector.fromArray(F, x, xOff + i), a0);
                a1 = w1.fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
            }
            s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) s += Half.bf16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i)) * x[xOff + i];
        return s;
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(Half.SHORT_LE, offset + 2L * i, Half.floatToBf16(src[srcOff + i]));
    }
}
