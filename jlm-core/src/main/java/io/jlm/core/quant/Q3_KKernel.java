package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.MemorySegment;

/** Kernel for {@link GGMLType#Q3_K} (stub: to be implemented). */
public final class Q3_KKernel implements WeightKernel {
    public static final Q3_KKernel INSTANCE = new Q3_KKernel();

    private Q3_KKernel() {}

    @Override public GGMLType type() { return GGMLType.Q3_K; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        throw new UnsupportedOperationException("TODO Q3_K");
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        throw new UnsupportedOperationException("TODO Q3_K");
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        throw new UnsupportedOperationException("TODO Q3_K");
    }
}
