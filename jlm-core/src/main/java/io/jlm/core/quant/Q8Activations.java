package io.jlm.core.quant;

import jdk.incubator.vector.IntVector;

/**
 * An activation vector quantized to 8-bit blocks of 32 for the integer dot products of {@link WeightKernel#dotQ8}
 * (ggml's {@code vec_dot_type} Q8_0 for Q4_0/Q8_0 weights): per block, {@code d = amax / 127} rounded to F16 (as a
 * Q8_0 block stores it) and {@code q = round(x * 127 / amax)} in [-127, 127]. The quants are kept widened to
 * {@code short}, since the kernels multiply in 16-bit lanes; one holder is reused for every product of a thread, so
 * quantizing allocates nothing once it has grown to the widest input.
 */
public final class Q8Activations {
    /** Elements per block. */
    public static final int QK = 32;

    /**
     * Whether the integer dot kernels can run: they use 256-bit short/int vectors (16-bit products, two per 32-bit
     * lane). Machines with narrower vectors keep the float kernels.
     */
    public static final boolean SUPPORTED = IntVector.SPECIES_PREFERRED.vectorBitSize() >= 256;

    private short[] q = new short[0];
    private float[] d = new float[0];
    private int n;

    /** Quants, widened to 16 bits: element i of the last {@link #quantize} input is {@code q()[i]}. */
    public short[] q() { return q; }

    /** Block scales: block b covers elements [32b, 32b + 32). */
    public float[] d() { return d; }

    /** Quantizes {@code x[xOff .. xOff + n)}; {@code n} must be a multiple of 32. */
    public Q8Activations quantize(float[] x, int xOff, int n) {
        if (n % QK != 0) throw new IllegalArgumentException("Q8 activations: length " + n + " is not a multiple of " + QK);
        if (q.length < n) {
            q = new short[n];
            d = new float[n / QK];
        }
        this.n = n;
        short[] q = this.q;
        float[] d = this.d;
        for (int b = 0; b < n / QK; b++) {
            int s = xOff + b * QK;
            float amax = 0f;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[s + j]));
            d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0f ? 127f / amax : 0f;
            for (int j = 0; j < QK; j++) q[b * QK + j] = (short) Math.rint(x[s + j] * id);
        }
        return this;
    }

    /**
     * Writes the last quantized input as the integer dot sees it, {@code q * d} per element, to {@code out[outOff ..]}.
     * Batched products (prefill) multiply these values so that they use the same activations as the integer
     * matrix-vector path (up to float summation order).
     */
    public void dequantize(float[] out, int outOff) {
        for (int i = 0; i < n; i++) out[outOff + i] = q[i] * d[i / QK];
    }
}
