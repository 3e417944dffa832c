package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Kernel for {@link GGMLType#F32}: little-endian float32 rows. */
public final class F32Kernel implements WeightKernel {
    public static final F32Kernel INSTANCE = new F32Kernel();

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private F32Kernel() {}

    @Override public GGMLType type() { return GGMLType.F32; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        MemorySegment.copy(seg, Half.FLOAT_LE, offset, out, outOff, n);
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int i = 0;
        int bound4 = n - 4 * L;
        for (; i <= bound4; i += 4 * L) {
            long p = offset + 4L * i;
            a0 = FloatVector.fromMemorySegment(F, seg, p, LE).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = FloatVector.fromMemorySegment(F, seg, p + 4L * L, LE).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
            a2 = FloatVector.fromMemorySegment(F, seg, p + 8L * L, LE).fma(FloatVector.fromArray(F, x, xOff + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, seg, p + 12L * L, LE).fma(FloatVector.fromArray(F, x, xOff + i + 3 * L), a3);
        }
        for (; i <= n - L; i += L) {
            a0 = FloatVector.fromMemorySegment(F, seg, offset + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), a0);
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += seg.get(Half.FLOAT_LE, offset + 4L * i) * x[xOff + i];
        return s;
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        MemorySegment.copy(src, srcOff, dst, Half.FLOAT_LE, offset, n);
    }
}
