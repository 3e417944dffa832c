package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;

import java.util.Arrays;

/**
 * State of an H3 sublayer ({@code H}): the last {@code m-1} key projections per channel (the FIR window of the
 * shift SSM; zeros stand for inputs before position 0) and the {@code n} complex modes per channel of the diagonal
 * SSM applied to {@code kbar * v}. Output {@code Wo (q * s)}.
 */
public final class H3LayerState implements LayerState {
    private final HybridConfig c;
    private final HybridWeights.H3 w;
    private final Scratch s;
    private final ThreadPool pool;
    /** window[j * d + ch]: key of channel ch, {@code m-1-j} tokens ago (j = 0 oldest). */
    private final float[] window;
    private final float[] re, im;

    H3LayerState(HybridConfig c, HybridWeights.H3 w, Scratch s, ThreadPool pool) {
        this.c = c;
        this.w = w;
        this.s = s;
        this.pool = pool;
        window = new float[(c.h3Shift() - 1) * c.dim()];
        re = new float[c.dim() * c.s4dModes()];
        im = new float[c.dim() * c.s4dModes()];
    }

    @Override public char letter() { return 'H'; }

    @Override public long bytes() { return ((long) window.length + re.length + im.length) * Float.BYTES; }

    @Override
    public void reset() {
        Arrays.fill(window, 0f);
        Arrays.fill(re, 0f);
        Arrays.fill(im, 0f);
    }

    /** The mixer for one token with normed input {@code u}; writes {@code d} floats to {@code out}. */
    void step(float[] u, float[] out) {
        int d = c.dim(), m = c.h3Shift();
        float[] q = s.q, k = s.k, v = s.v, o = s.o, shift = w.shift();
        w.q().matvec(u, q, pool);
        w.k().matvec(u, k, pool);
        w.v().matvec(u, v, pool);
        for (int ch = 0; ch < d; ch++) {
            int so = ch * m;
            float kbar = shift[so + m - 1] * k[ch];
            for (int j = 0; j < m - 1; j++) kbar += shift[so + j] * window[j * d + ch];
            for (int j = 0; j < m - 2; j++) window[j * d + ch] = window[(j + 1) * d + ch];
            if (m > 1) window[(m - 2) * d + ch] = k[ch];
            o[ch] = kbar * v[ch];
        }
        S4dLayerState.scan(w.ssm(), re, im, o, o);
        for (int ch = 0; ch < d; ch++) o[ch] *= q[ch];
        w.o().matvec(o, out, pool);
    }
}
