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
     * Whether {@link #dotQ8} is implemented: an integer dot product with the activations quantized to 8-bit blocks
     * ({@link Q8Activations}), which skips converting every weight to float. Decode (matrix-vector) uses it when
     * {@link Q8Activations#SUPPORTED}.
     */
    default boolean hasDotQ8() { return false; }

    /**
     * Returns sum over blocks b of {@code d_w[b] * d_x[b] * sum_j q_w[32b+j] * q_x[32b+j]} for the row at byte
     * {@code offset} and the activation blocks of {@code x} starting at element {@code xOff} (a multiple of 32);
     * {@code n} is a multiple of 32.
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
