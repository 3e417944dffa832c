package io.jlm.models.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise float32 kernels of the transformer and Mamba blocks (one method per kernel, no allocation). */
public final class Ops {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Ops() {}

    /** out[oOff+i] = x[xOff+i] / rms(x) * w[i]; {@code out} may alias {@code x}. */
    public static void rmsnorm(float[] out, int oOff, float[] x, int xOff, float[] w, int n, float eps) {
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
    public static void rmsnormNoWeight(float[] x, int off, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double) x[off + i] * x[off + i];
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) x[off + i] *= scale;
    }

    /** y[i] += x[i] for i in [0,n). */
    public static void addInPlace(float[] y, float[] x, int n) {
        int i = 0;
        int step = F.length();
        for (int bound = n - n % step; i < bound; i += step) {
            FloatVector.fromArray(F, y, i).add(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (; i < n; i++) y[i] += x[i];
    }

    /** y[yOff+i] += b[i] for i in [0,n). */
    public static void addBias(float[] y, int yOff, float[] b, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += b[i];
    }

    /** x[off+i] *= s for i in [0,n). */
    public static void scale(float[] x, int off, int n, float s) {
        int i = 0;
        int step = F.length();
        for (int bound = n - n % step; i < bound; i += step) {
            FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
        }
        for (; i < n; i++) x[off + i] *= s;
    }

    /** out[oOff+i] = silu(g[gOff+i]) * u[uOff+i]. */
    public static void siluMul(float[] out, int oOff, float[] g, int gOff, float[] u, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float a = g[gOff + i];
            out[oOff + i] = a / (1f + (float) Math.exp(-a)) * u[uOff + i];
        }
    }

    /** out[oOff+i] = gelu_tanh(g[gOff+i]) * u[uOff+i]. */
    public static void geluMul(float[] out, int oOff, float[] g, int gOff, float[] u, int uOff, int n) {
        final float c = 0.7978845608028654f; // sqrt(2/pi)
        for (int i = 0; i < n; i++) {
            float a = g[gOff + i];
            out[oOff + i] = 0.5f * a * (1f + (float) Math.tanh(c * (a + 0.044715f * a * a * a))) * u[uOff + i];
        }
    }

    /** x[off+i] = cap * tanh(x[off+i] / cap). */
    public static void softcap(float[] x, int off, int n, float cap) {
        float inv = 1f / cap;
        for (int i = 0; i < n; i++) x[off + i] = cap * (float) Math.tanh(x[off + i] * inv);
    }

    public static float silu(float a) {
        return a / (1f + (float) Math.exp(-a));
    }

    /**
     * Exact (erf) GELU {@code 0.5 a (1 + erf(a / sqrt 2))}, PyTorch's {@code nn.GELU()} default; erf by
     * Abramowitz-Stegun 7.1.26 in double (|error| <= 1.5e-7, the formula jlm-train uses).
     */
    public static float geluErf(float a) {
        double z = Math.abs(a) * 0.7071067811865476;
        double t = 1 / (1 + 0.3275911 * z);
        double p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
        double erf = 1 - p * Math.exp(-z * z);
        return (float) (0.5 * a * (1 + (a < 0 ? -erf : erf)));
    }

    /** log(1 + e^a), linear above 20 (as llama.cpp's ssm_scan). */
    public static float softplus(float a) {
        return a > 20f ? a : (float) Math.log1p(Math.exp(a));
    }
}
