package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.MemorySegment;

/** Kernel for {@link GGMLType#F16} (stub: to be implemented). */
public final class F16Kernel implements WeightKernel {
    public static final F16Kernel INSTANCE = new F16Kernel();

    private F16Kernel() {}

    @Override public GGMLType type() { return GGMLType.F16; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        throw new UnsupportedOperationException("TODO F16");
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        throw new UnsupportedOperationException("TODO F16");
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        throw new UnsupportedOperationException("TODO F16");
    }
}
