package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.MemorySegment;

/** Kernel for {@link GGMLType#Q5_1} (stub: to be implemented). */
public final class Q5_1Kernel implements WeightKernel {
    public static final Q5_1Kernel INSTANCE = new Q5_1Kernel();

    private Q5_1Kernel() {}

    @Override public GGMLType type() { return GGMLType.Q5_1; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        throw new UnsupportedOperationException("TODO Q5_1");
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        throw new UnsupportedOperationException("TODO Q5_1");
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        throw new UnsupportedOperationException("TODO Q5_1");
    }
}
