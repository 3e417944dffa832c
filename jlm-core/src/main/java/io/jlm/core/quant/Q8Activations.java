package io.jlm.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * An activation vector quantized to 8 bits for the integer dot products of {@link WeightKernel#dotQ8}, in one of
 * ggml's two {@code vec_dot_type} layouts:
 * <ul>
 * <li>{@link Layout#Q8_0} (for Q4_0 and Q8_0 weights): blocks of 32, {@code d = amax / 127} rounded to F16 (as a
 *     Q8_0 block stores it) and {@code q = round(x * 127 / amax)};</li>
 * <li>{@link Layout#Q8_K} (for the K-quants): blocks of 256, with {@code m} the element of largest magnitude (the
 *     first on ties) {@code d = m / -127} kept in float32 and {@code q = min(127, round(x * -127 / m))}.</li>
 * </ul>
 * Rounding is to nearest, ties to even; quants lie in [-127, 127] and are kept widened to {@code short}, since the
 * kernels multiply in 16-bit lanes. The integer sum of every 32 quants is kept too (kernels whose weights carry an
 * offset, such as Q4_K's minimum, need {@code sum_j x_j} per sub-block). One holder is reused for every product of a
 * thread, so quantizing allocates nothing once it has grown to the widest input.
 */
public final class Q8Activations {
    /** Elements per block of the {@link Layout#Q8_0} layout, and per entry of {@link #sums()}. */
    public static final int QK = 32;
    /** Elements per block of the {@link Layout#Q8_K} layout. */
    public static final int QK_K = 256;

    /** The block layout, named after the ggml type whose rounding it follows. */
    public enum Layout {
        Q8_0(QK), Q8_K(QK_K);

        private final int block;

        Layout(int block) { this.block = block; }

        /** Elements per block (one scale each). */
        public int block() { return block; }
    }

    /**
     * Whether the integer dot kernels can run: they use 256-bit short/int vectors (16-bit products, two per 32-bit
     * lane). Machines with narrower vectors keep the float kernels.
     */
    public static final boolean SUPPORTED = IntVector.SPECIES_PREFERRED.vectorBitSize() >= 256;

    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    private static final float ROUND = 0x1.8p23f;

    private final Layout layout;
    private short[] q = new short[0];
    private float[] d = new float[0];
    private int[] sums = new int[0];
    private int n;

    public Q8Activations(Layout layout) {
        this.layout = layout;
    }

    public Layout layout() { return layout; }

    /** Quants, widened to 16 bits: element i of the last {@link #quantize} input is {@code q()[i]}. */
    public short[] q() { return q; }

    /** Block scales: block b covers elements [b * block, (b + 1) * block) of the layout's block size. */
    public float[] d() { return d; }

    /** Integer sums of the quants of every 32 elements: entry i covers elements [32i, 32i + 32). */
    public int[] sums() { return sums; }

    /** Quantizes {@code x[xOff .. xOff + n)}; {@code n} must be a multiple of the layout's block size. */
    public Q8Activations quantize(float[] x, int xOff, int n) {
        int block = layout.block;
        if (n % block != 0) {
            throw new IllegalArgumentException(layout + " activations: length " + n + " is not a multiple of " + block);
        }
        if (q.length < n) {
            q = new short[n];
            d = new float[n / QK];
            sums = new int[n / QK];
        }
        this.n = n;
        short[] q = this.q;
        float[] d = this.d;
        for (int b = 0; b < n / block; b++) {
            int s = xOff + b * block;
            float amax = 0f, max = 0f;
            boolean vec = SUPPORTED;
            if (vec) {
                FloatVector m = FloatVector.zero(F8);
                for (int j = 0; j < block; j += F8.length()) m = m.max(FloatVector.fromArray(F8, x, s + j).abs());
                amax = m.reduceLanes(VectorOperators.MAX);
                if (!Float.isFinite(amax)) {
                    vec = false;                    // NaN/Inf: the scalar rules below (NaN skipped, as ggml's fmaxf)
                    amax = 0f;
                } else if (amax != 0f && layout == Layout.Q8_K) {
                    for (int j = 0; ; j++) {        // the first element of that magnitude (Q8_K's scale takes its sign)
                        if (Math.abs(x[s + j]) == amax) {
                            max = x[s + j];
                            break;
                        }
                    }
                }
            }
            if (!vec) {
                for (int j = 0; j < block; j++) {
                    float a = Math.abs(x[s + j]);
                    if (a > amax) {
                        amax = a;
                        max = x[s + j];
                    }
                }
            }
            float id;
            if (layout == Layout.Q8_0) {
                d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                id = amax != 0f ? 127f / amax : 0f;
            } else {
                id = amax != 0f ? -127f / max : 0f;
                d[b] = amax != 0f ? 1f / id : 0f;
            }
            if (vec) {
                // |x * id| <= 127 (+ rounding): adding and subtracting 1.5 * 2^23 rounds to nearest, ties to even,
                // exactly as Math.rint
                FloatVector vid = FloatVector.broadcast(F8, id);
                for (int j = 0; j < block; j += F8.length()) {
                    FloatVector v = FloatVector.fromArray(F8, x, s + j).mul(vid).add(ROUND).sub(ROUND).min(127f);
                    ((ShortVector) v.convertShape(VectorOperators.F2S, S8, 0)).intoArray(q, b * block + j);
                }
            } else {
                for (int j = 0; j < block; j++) q[b * block + j] = (short) Math.min(127, Math.rint(x[s + j] * id));
            }
        }
        int[] sums = this.sums;
        for (int i = 0; i < n / QK; i++) {
            int t = 0;
            for (int j = 0; j < QK; j++) t += q[i * QK + j];
            sums[i] = t;
        }
        return this;
    }

    /**
     * Writes the last quantized input as the integer dot sees it, {@code q * d} per element, to {@code out[outOff ..]}.
     * Batched products (prefill) multiply these values so that they use the same activations as the integer
     * matrix-vector path (up to float summation order).
     */
    public void dequantize(float[] out, int outOff) {
        int block = layout.block;
        if (SUPPORTED) {
            for (int b = 0; b < n / block; b++) {
                FloatVector dv = FloatVector.broadcast(F8, d[b]);
                for (int j = b * block; j < (b + 1) * block; j += F8.length()) {
                    ((FloatVector) ShortVector.fromArray(S8, q, j).convertShape(VectorOperators.S2F, F8, 0)).mul(dv)
                            .intoArray(out, outOff + j);
                }
            }
            return;
        }
        for (int i = 0; i < n; i++) out[outOff + i] = q[i] * d[i / block];
    }
}
