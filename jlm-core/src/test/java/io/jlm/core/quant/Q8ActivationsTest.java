package io.jlm.core.quant;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link Q8Activations} against a scalar transcription of ggml's {@code quantize_row_q8_0_ref} /
 * {@code quantize_row_q8_K_ref} rules (first element of largest magnitude, F16 or float32 scale, round half to even,
 * clamp at 127), bit for bit, on inputs that reach every branch: random rows, ties of magnitude with both signs,
 * exact halves after scaling, zero blocks, subnormals, and NaN/Inf.
 */
class Q8ActivationsTest {

    @ParameterizedTest
    @EnumSource(Q8Activations.Layout.class)
    void quantizesAsGgmlsScalarRules(Q8Activations.Layout layout) {
        int block = layout.block(), n = 4 * block;
        Random rnd = new Random(7);
        Q8Activations a = new Q8Activations(layout);
        for (int trial = 0; trial < 40; trial++) {
            float[] x = new float[n + 5];
            for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3));
            switch (trial % 8) {
                case 1 -> { // the largest magnitude twice, negative first: Q8_K's scale takes the sign of the first
                    for (int j = 0; j < block; j++) x[5 + j] = (float) rnd.nextGaussian();
                    x[5 + 3] = -9.5f;
                    x[5 + block - 1] = 9.5f;
                }
                case 2 -> { // amax 127 -> scale 1 (Q8_0): halves must round to even
                    for (int j = 0; j < block; j++) x[5 + j] = (j % 9 - 4) + 0.5f;
                    x[5] = 127f;
                }
                case 3 -> java.util.Arrays.fill(x, 5 + block, 5 + 2 * block, 0f);
                case 4 -> { for (int j = 0; j < block; j++) x[5 + j] = Float.MIN_VALUE * (j - block / 2); }
                case 5 -> x[5 + 2 * block + 1] = Float.NaN;
                case 6 -> x[5 + 3 * block + 2] = Float.NEGATIVE_INFINITY;
                case 7 -> x[5 + 17] = -x[5 + 17] * 1e6f;
                default -> { }
            }
            a.quantize(x, 5, n);
            Reference r = new Reference(layout, x, 5, n);
            assertArrayEquals(r.q, java.util.Arrays.copyOf(a.q(), n), layout + " quants, trial " + trial);
            for (int b = 0; b < n / block; b++) {
                assertEquals(Float.floatToRawIntBits(r.d[b]), Float.floatToRawIntBits(a.d()[b]), layout + " scale " + b + ", trial " + trial);
            }
            for (int i = 0; i < n / Q8Activations.QK; i++) {
                int s = 0;
                for (int j = 0; j < Q8Activations.QK; j++) s += r.q[i * Q8Activations.QK + j];
                assertEquals(s, a.sums()[i], "sum " + i);
            }
            float[] out = new float[n + 3];
            a.dequantize(out, 3);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(r.q[i] * r.d[i / block]), Float.floatToRawIntBits(out[3 + i]),
                        layout + " dequantized element " + i + ", trial " + trial);
            }
        }
    }

    /** ggml's reference rules, one element at a time. */
    private static final class Reference {
        final short[] q;
        final float[] d;

        Reference(Q8Activations.Layout layout, float[] x, int off, int n) {
            int block = layout.block();
            q = new short[n];
            d = new float[n / block];
            for (int b = 0; b < n / block; b++) {
                float amax = 0f, max = 0f;
                for (int j = 0; j < block; j++) {
                    float v = x[off + b * block + j];
                    if (Math.abs(v) > amax) {
                        amax = Math.abs(v);
                        max = v;
                    }
                }
                float id;
                if (layout == Q8Activations.Layout.Q8_0) {
                    d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                    id = amax == 0f ? 0f : 127f / amax;
                } else {
                    id = amax == 0f ? 0f : -127f / max;
                    d[b] = amax == 0f ? 0f : 1f / id;
                }
                for (int j = 0; j < block; j++) {
                    double v = Math.rint(x[off + b * block + j] * id);
                    q[b * block + j] = (short) Math.min(127, v);
                }
            }
        }
    }
}
