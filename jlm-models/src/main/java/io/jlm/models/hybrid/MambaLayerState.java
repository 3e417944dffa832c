package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.mamba.MambaWeights;
import io.jlm.models.ops.Ops;

import java.util.Arrays;

/**
 * State of a Mamba-1 sublayer ({@code M}): the last {@code dconv-1} inputs of the causal depthwise convolution and
 * the SSM state {@code h[di][ds]}. The math is that of {@code io.jlm.models.mamba.MambaState} for one token.
 */
public final class MambaLayerState implements LayerState {
    private final HybridConfig c;
    private final MambaWeights.Layer w;
    private final Scratch s;
    private final ThreadPool pool;
    /** conv[k * di + ch]: the k-th of the last dconv-1 conv inputs (k = 0 oldest). */
    private final float[] conv;
    /** ssm[ch * ds + j]. */
    private final float[] ssm;

    MambaLayerState(HybridConfig c, HybridWeights.Mamba w, Scratch s, ThreadPool pool) {
        this.c = c;
        this.w = w.layer();
        this.s = s;
        this.pool = pool;
        conv = new float[(c.dConv() - 1) * c.dInner()];
        ssm = new float[c.dInner() * c.dState()];
    }

    @Override public char letter() { return 'M'; }

    @Override public long bytes() { return ((long) conv.length + ssm.length) * Float.BYTES; }

    @Override
    public void reset() {
        Arrays.fill(conv, 0f);
        Arrays.fill(ssm, 0f);
    }

    /** The block for one token with normed input {@code u}; writes {@code d} floats to {@code out}. */
    void step(float[] u, float[] out) {
        int di = c.dInner(), K = c.dConv(), ds = c.dState(), bOff = c.dtRank(), cOff = c.dtRank() + ds;
        float[] xz = s.xz, xc = s.xc, xdb = s.xdb, dt = s.dt, y = s.y;
        float[] cw = w.convW(), cb = w.convB(), A = w.a(), D = w.d(), dtb = w.dtBias();
        w.in().matvec(u, xz, pool);
        for (int ch = 0; ch < di; ch++) {
            int wo = ch * K;
            float sum = cb[ch] + cw[wo + K - 1] * xz[ch];
            for (int k = 0; k < K - 1; k++) sum += cw[wo + k] * conv[k * di + ch];
            for (int k = 0; k < K - 2; k++) conv[k * di + ch] = conv[(k + 1) * di + ch];
            if (K > 1) conv[(K - 2) * di + ch] = xz[ch];
            xc[ch] = Ops.silu(sum);
        }
        w.xProj().matvec(xc, xdb, pool);
        w.dtProj().matvec(xdb, 0, dt, 0, pool);
        for (int ch = 0; ch < di; ch++) {
            float delta = Ops.softplus(dt[ch] + dtb[ch]);
            float xv = xc[ch], dx = delta * xv;
            int ho = ch * ds;
            float acc = 0f;
            for (int j = 0; j < ds; j++) {
                float h = ssm[ho + j] * (float) Math.exp(delta * A[ho + j]) + xdb[bOff + j] * dx;
                ssm[ho + j] = h;
                acc += h * xdb[cOff + j];
            }
            y[ch] = (acc + D[ch] * xv) * Ops.silu(xz[di + ch]);
        }
        w.out().matvec(y, out, pool);
    }
}
