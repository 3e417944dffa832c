package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.ops.Ops;

import java.util.Arrays;

/**
 * The {@code n} complex modes per channel of an S4D sublayer ({@code S}): {@code y = SSM(u) + D u},
 * {@code out = Wout gelu(y)}. The SSM recurrence itself ({@link #scan}) is shared with {@link H3LayerState}.
 */
public final class S4dLayerState implements LayerState {
    private final HybridConfig c;
    private final HybridWeights.S4d w;
    private final Scratch s;
    private final ThreadPool pool;
    /** Real and imaginary parts of {@code g = h / dB}, index {@code channel * n + mode}. */
    private final float[] re, im;

    S4dLayerState(HybridConfig c, HybridWeights.S4d w, Scratch s, ThreadPool pool) {
        this.c = c;
        this.w = w;
        this.s = s;
        this.pool = pool;
        re = new float[c.dim() * c.s4dModes()];
        im = new float[c.dim() * c.s4dModes()];
    }

    @Override public char letter() { return 'S'; }

    @Override public long bytes() { return 2L * re.length * Float.BYTES; }

    @Override
    public void reset() {
        Arrays.fill(re, 0f);
        Arrays.fill(im, 0f);
    }

    /** The mixer for one token with normed input {@code u}; writes {@code d} floats to {@code out}. */
    void step(float[] u, float[] out) {
        float[] y = s.o;
        scan(w.ssm(), re, im, u, y);
        for (int i = 0; i < c.dim(); i++) y[i] = Ops.geluErf(y[i]);
        w.out().matvec(y, out, pool);
    }

    /**
     * One step of the diagonal complex SSM on every channel: {@code g = dA g + in_c},
     * {@code out_c = 2 Re(sum_r (C dB)_r g_r) + D_c in_c}. {@code out} may be {@code in}.
     */
    static void scan(HybridWeights.Ssm p, float[] re, float[] im, float[] in, float[] out) {
        int n = p.modes();
        float[] ar = p.dARe(), ai = p.dAIm(), cr = p.cbRe(), ci = p.cbIm(), dd = p.d();
        for (int ch = 0; ch < p.channels(); ch++) {
            float x = in[ch];
            float acc = 0f;
            for (int r = ch * n, end = r + n; r < end; r++) {
                float hr = re[r], hi = im[r];
                float nr = ar[r] * hr - ai[r] * hi + x;
                float ni = ar[r] * hi + ai[r] * hr;
                re[r] = nr;
                im[r] = ni;
                acc += cr[r] * nr - ci[r] * ni;
            }
            out[ch] = 2 * acc + dd[ch] * x;
        }
    }
}
