package io.jlm.models.state;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Small attention kernels shared by the KV caches that compute attention themselves. */
public final class AttentionKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private AttentionKernels() {}

    /** {@code out[oOff + i] += a * x[xOff + i]} for {@code i < n}. */
    public static void axpy(float[] out, int oOff, float a, float[] x, int xOff, int n) {
        int step = F.length(), bound = n - n % step, i = 0;
        if (bound > 0) {
            FloatVector av = FloatVector.broadcast(F, a);
            for (; i < bound; i += step) {
                FloatVector.fromArray(F, x, xOff + i).fma(av, FloatVector.fromArray(F, out, oOff + i)).intoArray(out, oOff + i);
            }
        }
        for (; i < n; i++) out[oOff + i] += a * x[xOff + i];
    }

    /**
     * Turns raw dot products {@code sc[0 .. n)} into softmax weights in place: {@code s * scale}, then the soft-cap
     * {@code cap * tanh(s / cap)} when {@code cap > 0}, then exp(s - max) / sum. Entries equal to
     * {@link Float#NEGATIVE_INFINITY} (masked) get weight 0. Returns the number of unmasked entries.
     */
    public static int softmax(float[] sc, int n, float scale, float cap) {
        float max = Float.NEGATIVE_INFINITY;
        int live = 0;
        for (int j = 0; j < n; j++) {
            float s = sc[j];
            if (s == Float.NEGATIVE_INFINITY) continue;
            s *= scale;
            if (cap > 0) s = cap * (float) Math.tanh(s / cap);
            sc[j] = s;
            if (s > max) max = s;
            live++;
        }
        if (live == 0) return 0;
        float sum = 0;
        for (int j = 0; j < n; j++) {
            float e = sc[j] == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(sc[j] - max);
            sc[j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < n; j++) sc[j] *= inv;
        return live;
    }
}
