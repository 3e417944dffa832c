package io.jlm.models.state;

import java.util.List;
import java.util.Random;

/** Straightforward float64 references for the attention tests: softmax attention over an explicit key set, RoPE. */
final class RefAttention {
    private RefAttention() {}

    /** softmax(scale * q.k_j) weighted sum of v_j over the given keys/values (each of q.length floats). */
    static double[] attend(float[] q, int qOff, int hd, List<float[]> keys, List<float[]> values, double scale) {
        int n = keys.size();
        double[] s = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            double d = 0;
            for (int i = 0; i < hd; i++) d += (double) q[qOff + i] * keys.get(j)[i];
            s[j] = d * scale;
            max = Math.max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
        double[] out = new double[hd];
        for (int j = 0; j < n; j++) for (int i = 0; i < hd; i++) out[i] += s[j] / sum * values.get(j)[i];
        return out;
    }

    /** Softmax weights only. */
    static double[] weights(float[] q, int qOff, int hd, List<float[]> keys, double scale) {
        int n = keys.size();
        double[] s = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            double d = 0;
            for (int i = 0; i < hd; i++) d += (double) q[qOff + i] * keys.get(j)[i];
            s[j] = d * scale;
            max = Math.max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
        for (int j = 0; j < n; j++) s[j] /= sum;
        return s;
    }

    /** NORMAL-mode RoPE of a whole head vector at {@code pos} with base 10000 (float64, then rounded). */
    static float[] rope(float[] x, int off, int hd, long pos, double[] invFreq) {
        float[] y = new float[hd];
        for (int i = 0; i < hd / 2; i++) {
            double a = pos * invFreq[i], c = Math.cos(a), s = Math.sin(a);
            double x0 = x[off + 2 * i], x1 = x[off + 2 * i + 1];
            y[2 * i] = (float) (x0 * c - x1 * s);
            y[2 * i + 1] = (float) (x0 * s + x1 * c);
        }
        return y;
    }

    static double[] invFreq(int hd, double base) {
        double[] f = new double[hd / 2];
        for (int i = 0; i < f.length; i++) f[i] = Math.pow(base, -2.0 * i / hd);
        return f;
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static void assertClose(double[] expected, float[] actual, int off, double tol, String what) {
        double max = 1e-30;
        for (double e : expected) max = Math.max(max, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[off + i]);
            if (d > tol * max) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " got " + actual[off + i]
                        + " (|diff| " + d + " > " + tol + " * " + max + ")");
            }
        }
    }
}
