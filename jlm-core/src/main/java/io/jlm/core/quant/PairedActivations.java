package io.jlm.core.quant;

/**
 * An activation vector permuted for kernels that read 16-bit weights as 32-bit pairs ({@link WeightKernel#dotPaired}):
 * within every group of 16 elements the 8 even-indexed elements come first, then the 8 odd-indexed ones. A 256-bit
 * load of 16 half-precision weights seen as 8 ints holds the even weights in the low and the odd weights in the high
 * halves, which shifts turn into two float vectors matching these two halves. One holder is reused per thread.
 */
public final class PairedActivations {
    /** Elements per group. */
    public static final int GROUP = 16;

    private float[] p = new float[0];

    /** The permuted elements of the last {@link #permute} input. */
    public float[] values() { return p; }

    /** Permutes {@code x[xOff .. xOff + n)}; {@code n} must be a multiple of 16. */
    public PairedActivations permute(float[] x, int xOff, int n) {
        if (n % GROUP != 0) throw new IllegalArgumentException("paired activations: length " + n + " is not a multiple of " + GROUP);
        if (p.length < n) p = new float[n];
        float[] p = this.p;
        for (int g = 0; g < n; g += GROUP) {
            for (int j = 0; j < GROUP / 2; j++) {
                p[g + j] = x[xOff + g + 2 * j];
                p[g + GROUP / 2 + j] = x[xOff + g + 2 * j + 1];
            }
        }
        return this;
    }
}
