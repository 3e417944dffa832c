package io.jlm.models.state;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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
     * The exponentials are vector ones ({@code VectorOperators.EXP}, within 1 ulp of {@link Math#exp} and ~10x
     * faster, which matters at long contexts: one exp per cached position, head and layer for every token).
     */
    public static int softmax(float[] sc, int n, float scale, float cap) {
        return softmax(sc, 0, n, scale, cap);
    }

    /** {@link #softmax(float[], int, float, float)} of {@code sc[off .. off + n)}. */
    public static int softmax(float[] sc, int off, int n, float scale, float cap) {
        float max = scaleAndMax(sc, off, n, scale, cap);
        if (max == Float.NEGATIVE_INFINITY) return 0;
        int live = 0;
        for (int j = off; j < off + n; j++) if (sc[j] != Float.NEGATIVE_INFINITY) live++;
        float inv = 1f / expShift(sc, off, n, max);
        int step = F.length(), end = off + n, bound = end - n % step, j = off;
        for (; j < bound; j += step) FloatVector.fromArray(F, sc, j).mul(inv).intoArray(sc, j);
        for (; j < end; j++) sc[j] *= inv;
        return live;
    }

    /**
     * {@code sc[j] = s * scale} (soft-capped by {@code cap * tanh(s / cap)} when {@code cap > 0}) for j in
     * [off, off + n); returns the maximum ({@link Float#NEGATIVE_INFINITY} when every entry is masked).
     */
    public static float scaleAndMax(float[] sc, int off, int n, float scale, float cap) {
        int end = off + n;
        if (cap > 0) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = off; j < end; j++) {
                float s = sc[j];
                if (s == Float.NEGATIVE_INFINITY) continue;
                s = cap * (float) Math.tanh(s * scale / cap);
                sc[j] = s;
                if (s > max) max = s;
            }
            return max;
        }
        int step = F.length(), bound = end - n % step, j = off;
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (; j < bound; j += step) {
            FloatVector v = FloatVector.fromArray(F, sc, j).mul(scale);
            v.intoArray(sc, j);
            mv = mv.max(v);
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; j < end; j++) {
            sc[j] *= scale;
            if (sc[j] > max) max = sc[j];
        }
        return max;
    }

    /** {@code sc[j] = exp(sc[j] - max)} for j in [off, off + n) (masked entries become 0); returns their sum. */
    public static float expShift(float[] sc, int off, int n, float max) {
        int step = F.length(), end = off + n, bound = end - n % step, j = off;
        FloatVector acc = FloatVector.zero(F);
        for (; j < bound; j += step) {
            FloatVector e = FloatVector.fromArray(F, sc, j).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(sc, j);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < end; j++) {
            float e = (float) Math.exp(sc[j] - max);
            sc[j] = e;
            sum += e;
        }
        return sum;
    }
}
