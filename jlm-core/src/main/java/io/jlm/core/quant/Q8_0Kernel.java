package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.MemorySegment;

/** Kernel for {@link GGMLType#Q8_0} (stub: to be implemented). */
public final class Q8_0Kernel implements WeightKernel {
    public static final Q8_0Kernel INSTANCE = new Q8_0Kernel();

    private Q8_0Kernel() {}

    @Override public GGMLType type() { return GGMLType.Q8_0; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        throw new UnsupportedOperationException("TODO Q8_0");
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        throw new UnsupportedOperationException("TODO Q8_0");
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        throw new UnsupportedOperationException("TODO Q8_0");
    }
}
