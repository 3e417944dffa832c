package io.jlm.core.quant;

/** Blocking parameters shared by the batched (prefill) kernels. */
final class MatmulTiles {
    private MatmulTiles() {}

    /** Activation rows per tile so that a tile of x (tile * cols floats) stays within ~512 KiB (L2). */
    static int batchTile(int cols) {
        int t = (128 * 1024) / Math.max(1, cols);
        return Math.max(4, t & ~3);
    }
}
