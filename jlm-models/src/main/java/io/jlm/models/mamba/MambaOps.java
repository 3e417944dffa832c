package io.jlm.models.mamba;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise float32 kernels of the Mamba block (one method per kernel, no allocation). */
final class MambaOps {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private MambaOps() {}

    /** out[oOff+i] = x[xOff+i] / rms(x) * w[i]; {@code out} may alias {@code x}. */
    static void rmsnorm(float[] out, int oOff, float[] x, int xOff, float[] w, int n, float eps) {
        int i = 0;
        int step = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (int bound = n - n % step; i < bound; i += step) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        float ss = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) ss += x[xOff + i] * x[xOff + i];
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (int bound = n - n % step; i < bound; i += step) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, w, i)).intoArray(out, oOff + i);
        }
        for (; i < n; i++) out[oOff + i] = x[xOff + i] * scale * w[i];
    }

    /** x[off+i] /= rms(x[off .. off+n)), in place, no weight. */
    static void rmsnormNoWeight(float[] x, int off, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double) x[off + i] * x[off + i];
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) x[off + i] *= scale;
    }

    /** y[i] += x[i] for i in [0,n). */
    static void addInPlace(float[] y, float[] x, int n) {
        int i = 0;
        int step = F.length();
        for (int bound = n - n % step; i < bound; i += step) {
            FloatVector.fromArray(F, y, i).add(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (; i < n; i++) y[i] += x[i];
    }

    static float silu(float a) {
        return a / (1f + (float) Math.exp(-a));
    }

    /** log(1 + e^a), linear above 20 (as llama.cpp's ssm_scan). */
    static float softplus(float a) {
        return a > 20f ? a : (float) Math.log1p(Math.exp(a));
    }
}
