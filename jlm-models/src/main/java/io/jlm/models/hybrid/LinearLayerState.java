package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.QMatrix;
import io.jlm.models.ops.Ops;

import java.util.Arrays;

/**
 * The {@code hs x hs} matrix per head of a linear-attention ({@code L}, TransNormer NormAttention) or retention
 * ({@code R}, RetNet) sublayer: {@code L}: {@code S += elu1(k) (x) v}, {@code o = elu1(q) S};
 * {@code R}: {@code S = g_h S + k (x) v}, {@code o = q S / sqrt(hs)}; then RMS per head (and the SiLU gate for R).
 */
public final class LinearLayerState implements LayerState {
    private final HybridConfig c;
    private final Scratch s;
    private final ThreadPool pool;
    private final char letter;
    private final QMatrix wq, wk, wv, wo, wgate;
    /** state[h * hs * hs + a * hs + b]: row a (key index), column b (value index). */
    private final float[] state;
    /** Per-head decay of R ({@code 1 - 2^(-5-h)}), or null for L. */
    private final float[] decay;

    LinearLayerState(HybridConfig c, HybridWeights.Mixer w, Scratch s, ThreadPool pool) {
        this.c = c;
        this.s = s;
        this.pool = pool;
        switch (w) {
            case HybridWeights.Linear l -> {
                letter = 'L';
                wq = l.q(); wk = l.k(); wv = l.v(); wo = l.o(); wgate = null;
                decay = null;
            }
            case HybridWeights.Retention r -> {
                letter = 'R';
                wq = r.q(); wk = r.k(); wv = r.v(); wo = r.o(); wgate = r.gate();
                decay = new float[c.heads()];
                for (int h = 0; h < decay.length; h++) decay[h] = (float) (1 - Math.pow(2, -5 - h));
            }
            default -> throw new IllegalArgumentException("not a linear-attention mixer: " + w);
        }
        state = new float[c.heads() * c.headDim() * c.headDim()];
    }

    @Override public char letter() { return letter; }

    @Override public long bytes() { return (long) state.length * Float.BYTES; }

    @Override public void reset() { Arrays.fill(state, 0f); }

    /** The mixer for one token with normed input {@code u}; writes {@code d} floats to {@code out}. */
    void step(float[] u, float[] out) {
        int hs = c.headDim(), nh = c.heads(), d = c.dim();
        float[] q = s.q, k = s.k, v = s.v, o = s.o;
        wq.matvec(u, q, pool);
        wk.matvec(u, k, pool);
        wv.matvec(u, v, pool);
        Arrays.fill(o, 0, d, 0f);
        if (decay == null) {
            for (int i = 0; i < d; i++) {
                q[i] = elu1(q[i]);
                k[i] = elu1(k[i]);
            }
        } else {
            Ops.scale(q, 0, d, (float) (1 / Math.sqrt(hs)));
        }
        for (int h = 0; h < nh; h++) {
            int ho = h * hs, so = h * hs * hs;
            float g = decay == null ? 1f : decay[h];
            for (int a = 0; a < hs; a++) {
                float ka = k[ho + a], qa = q[ho + a];
                int row = so + a * hs;
                for (int b = 0; b < hs; b++) {
                    float sv = g * state[row + b] + ka * v[ho + b];
                    state[row + b] = sv;
                    o[ho + b] += qa * sv;
                }
            }
            Ops.rmsnormNoWeight(o, ho, hs, c.eps());
        }
        if (wgate != null) {
            float[] gate = s.gate;
            wgate.matvec(u, gate, pool);
            for (int i = 0; i < d; i++) o[i] *= Ops.silu(gate[i]);
        }
        wo.matvec(o, out, pool);
    }

    /** {@code x + 1} for {@code x > 0}, else {@code e^x}. */
    static float elu1(float x) {
        return x > 0 ? x + 1 : (float) Math.exp(x);
    }
}
