package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.MemorySegment;

/** Kernel for {@link GGMLType#BF16} (stub: to be implemented). */
public final class BF16Kernel implements WeightKernel {
    public static final BF16Kernel INSTANCE = new BF16Kernel();

    private BF16Kernel() {}

    @Override public GGMLType type() { return GGMLType.BF16; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        throw new UnsupportedOperationException("TODO BF16");
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        throw new UnsupportedOperationException("TODO BF16");
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        throw new UnsupportedOperationException("TODO BF16");
    }
}
