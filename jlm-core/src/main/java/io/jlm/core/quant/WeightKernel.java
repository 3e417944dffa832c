package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.MemorySegment;

/**
 * Per-weight-type kernels. Rows are addressed by a byte offset into a (usually memory-mapped) segment;
 * element counts are multiples of the type's block size. Activations stay float32.
 * Implementations are stateless singletons and thread-safe.
 */
public interface WeightKernel {

    GGMLType type();

    /** Dequantizes {@code n} elements of the row starting at byte {@code offset} into {@code out[outOff..]}. */
    void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n);

    /** Returns sum over i in [0,n) of w[i] * x[xOff + i] for the row starting at byte {@code offset}. */
    float dot(MemorySegment seg, long offset, float[] x, int xOff, int n);

    /**
     * Whether {@link #dotQ8} is implemented: an integer dot product with the activations quantized to 8 bits
     * ({@link Q8Activations} in the layout {@link #dotQ8Layout}), which skips converting every weight to float.
     * Decode (matrix-vector) uses it when {@link Q8Activations#SUPPORTED}.
     */
    default boolean hasDotQ8() { return false; }

    /**
     * The activation layout {@link #dotQ8} multiplies, as ggml pairs them: {@link Q8Activations.Layout#Q8_0} for
     * Q4_0 and Q8_0, {@link Q8Activations.Layout#Q8_K} for the K-quants.
     */
    default Q8Activations.Layout dotQ8Layout() { return Q8Activations.Layout.Q8_0; }

    /**
     * Returns the dot product of the row at byte {@code offset} with the activations {@code x} (quantized in the
     * layout {@link #dotQ8Layout}) from element {@code xOff}, a multiple of the layout's block: the sum over
     * elements i of {@code w[i] * q_x[xOff + i] * d_x(block of xOff + i)}, with the weights' integer quants
     * multiplied in integers. {@code n} is a multiple of the weight type's and the layout's block sizes.
     */
    default float dotQ8(MemorySegment seg, long offset, Q8Activations x, int xOff, int n) {
        throw new UnsupportedOperationException(type() + " has no integer dot product");
    }

    /**
     * Whether {@link #dotPaired} is implemented: a dot product with the activations permuted once per matrix-vector
     * product into even/odd order ({@link PairedActivations}), so that 16-bit weights can be widened to 32-bit lanes
     * by shifts instead of lane conversions (F16). Decode uses it when {@link Q8Activations#SUPPORTED}.
     */
    default boolean hasDotPaired() { return false; }

    /**
     * The same sum as {@link #dot} ({@code x} is the original activation vector, {@code xp} its
     * {@link PairedActivations} permutation; {@code n} is a multiple of 16).
     */
    default float dotPaired(MemorySegment seg, long offset, float[] x, int xOff, float[] xp, int n) {
        throw new UnsupportedOperationException(type() + " has no paired dot product");
    }

    /**
     * Quantizes {@code n} floats of {@code src[srcOff..]} into {@code dst} at byte {@code offset}
     * with the reference (round-to-nearest, ggml {@code quantize_row_*_ref}-compatible) algorithm.
     */
    void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset);

    /**
     * Batched product for prefill: for rows r in [rowFrom,rowTo) of a row-major weight matrix with
     * {@code cols} columns whose row r starts at byte {@code offset + r*rowBytes}, and for each of
     * {@code batch} activation rows x[b*cols ..], writes out[b*outStride + r].
     * The default dequantizes a few weight rows at a time into {@code scratch} (used when it holds at least
     * {@link #matmulScratchLength(int)} floats, else a per-thread buffer) and multiplies them with a
     * register-blocked float micro-kernel, so every type gets the same fast batched path.
     */
    default void matmul(MemorySegment seg, long offset, long rowBytes, int rowFrom, int rowTo, int cols,
                        float[] x, int batch, float[] out, int outStride, float[] scratch) {
        MatmulTiles.matmul(this, seg, offset, rowBytes, rowFrom, rowTo, cols, x, batch, out, outStride, scratch);
    }

    /** Floats of {@code scratch} that {@link #matmul} uses without falling back to a per-thread buffer. */
    static int matmulScratchLength(int cols) {
        return MatmulTiles.scratchLength(cols);
    }
}
