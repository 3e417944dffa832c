package io.jlm.models.mamba;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.QMatrix;
import io.jlm.models.ModelState;
import io.jlm.models.ops.Ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Per-sequence state of a {@link MambaModel}: for every layer the last {@code dConv-1} inputs of the causal
 * convolution and the SSM state {@code h[dInner][dState]} (constant memory, independent of the sequence length),
 * plus scratch buffers for one prefill chunk. Also runs the forward pass.
 *
 * <p>Prefill processes up to {@code chunk} tokens per step: all projections are matrix-matrix products over the
 * chunk, the convolution and the selective scan run over time per channel, split over channels on the pool.
 * A single token (decode) is the same recurrence with matrix-vector products.
 *
 * <p>A recurrent state cannot forget tokens, so {@link #rewind} supports only rewinding to 0 (reset) or to the
 * current position (no-op). Not thread-safe: one forward call at a time per state.
 */
public final class MambaState implements ModelState {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private final MambaModel model;
    private final MambaConfig c;
    private final MambaWeights w;
    private final ThreadPool pool;
    private final int capacity;
    private final int chunk;
    private int position;

    /** conv[l][k*dInner + ch]: the k-th of the last dConv-1 conv inputs (k = 0 oldest). */
    private final float[][] conv;
    /** ssm[l][ch*dState + s]. */
    private final float[][] ssm;

    // scratch, row per token
    private final float[] x, xn, xz, xc, xdb, dtIn, dt, y, out, logits, logitsChunk;

    // arguments of the parallel bodies (set before each parallelFor)
    private int curLayer, curT;
    private final ThreadPool.RangeBody convBody = this::convRange;
    private final ThreadPool.RangeBody scanBody = this::scanRange;

    MambaState(MambaModel model, int capacity, int chunk) {
        this.model = model;
        this.c = model.mambaConfig();
        this.w = model.weights();
        this.pool = model.pool();
        this.capacity = capacity;
        this.chunk = chunk;
        conv = new float[c.layers()][(c.dConv() - 1) * c.dInner()];
        ssm = new float[c.layers()][c.dInner() * c.dState()];
        x = new float[chunk * c.dim()];
        xn = new float[chunk * c.dim()];
        xz = new float[chunk * 2 * c.dInner()];
        xc = new float[chunk * c.dInner()];
        xdb = new float[chunk * c.xProjSize()];
        dtIn = new float[chunk * c.dtRank()];
        dt = new float[chunk * c.dInner()];
        y = new float[chunk * c.dInner()];
        out = new float[chunk * c.dim()];
        logits = new float[c.vocabSize()];
        logitsChunk = new float[chunk * c.vocabSize()];
    }

    MambaModel model() { return model; }

    @Override public int position() { return position; }

    @Override public int capacity() { return capacity; }

    /** Tokens per prefill step. */
    public int prefillChunk() { return chunk; }

    @Override
    public void rewind(int pos) {
        if (pos < 0 || pos > position) {
            throw new IllegalArgumentException("rewind position " + pos + " is outside [0, " + position + "]");
        }
        if (pos == position) return;
        if (pos != 0) {
            throw new UnsupportedOperationException("a Mamba (recurrent) state cannot be rewound to position " + pos
                    + ": it summarizes all " + position + " tokens; only rewind(0) (reset) or rewind(" + position
                    + ") (no-op) are supported");
        }
        for (float[] a : conv) Arrays.fill(a, 0f);
        for (float[] a : ssm) Arrays.fill(a, 0f);
        position = 0;
    }

    @Override
    public long bytes() {
        long floats = (long) c.layers() * ((c.dConv() - 1) * c.dInner() + (long) c.dInner() * c.dState());
        floats += x.length + xn.length + xz.length + xc.length + xdb.length + dtIn.length + dt.length + y.length
                + out.length + logits.length + logitsChunk.length;
        return floats * Float.BYTES;
    }

    float[] forward(int[] tokens, boolean allLogits) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("no tokens to run");
        if ((long) position + n > capacity) {
            throw new IllegalStateException("context full: " + position + " + " + n + " tokens exceed the capacity "
                    + capacity + " of this state");
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside [0, " + c.vocabSize() + ")");
            }
        }
        int vocab = c.vocabSize();
        float[] result = allLogits ? new float[n * vocab] : logits;
        for (int start = 0; start < n; start += chunk) {
            int T = Math.min(chunk, n - start);
            runChunk(tokens, start, T);
            position += T;
            if (allLogits) {
                for (int t = 0; t < T; t++) {
                    Ops.rmsnorm(xn, t * c.dim(), x, t * c.dim(), w.outputNorm(), c.dim(), c.eps());
                }
                mul(w.output(), xn, T, logitsChunk);
                System.arraycopy(logitsChunk, 0, result, start * vocab, T * vocab);
            } else if (start + T == n) {
                Ops.rmsnorm(xn, 0, x, (T - 1) * c.dim(), w.outputNorm(), c.dim(), c.eps());
                w.output().matvec(xn, result, pool);
            }
        }
        return result;
    }

    private void mul(QMatrix m, float[] in, int T, float[] o) {
        if (T == 1) m.matvec(in, o, pool);
        else m.matmul(in, T, o, pool);
    }

    /** Runs T tokens through all layers; leaves the residual stream in x[0 .. T*dim). */
    private void runChunk(int[] tokens, int start, int T) {
        int dim = c.dim(), dInner = c.dInner(), nx = c.xProjSize(), dtRank = c.dtRank(), dState = c.dState();
        for (int t = 0; t < T; t++) w.tokenEmbedding().row(tokens[start + t], x, t * dim);
        for (int l = 0; l < c.layers(); l++) {
            MambaWeights.Layer L = w.layers().get(l);
            for (int t = 0; t < T; t++) Ops.rmsnorm(xn, t * dim, x, t * dim, L.norm(), dim, c.eps());
            mul(L.in(), xn, T, xz);
            curLayer = l;
            curT = T;
            pool.parallelFor(dInner, convBody);
            mul(L.xProj(), xc, T, xdb);
            for (int t = 0; t < T; t++) {
                int o = t * nx;
                if (c.dtBcRms()) {
                    Ops.rmsnormNoWeight(xdb, o, dtRank, c.eps());
                    Ops.rmsnormNoWeight(xdb, o + dtRank, dState, c.eps());
                    Ops.rmsnormNoWeight(xdb, o + dtRank + dState, dState, c.eps());
                }
                System.arraycopy(xdb, o, dtIn, t * dtRank, dtRank);
            }
            mul(L.dtProj(), dtIn, T, dt);
            pool.parallelFor(dInner, scanBody);
            mul(L.out(), y, T, out);
            Ops.addInPlace(x, out, T * dim);
        }
    }

    /**
     * Causal depthwise convolution for channels [from,to) over the chunk, then bias and SiLU into xc;
     * shifts the chunk's inputs into the conv state.
     */
    private void convRange(int from, int to, int thread) {
        int l = curLayer, T = curT, dInner = c.dInner(), K = c.dConv(), stride = 2 * dInner;
        MambaWeights.Layer L = w.layers().get(l);
        float[] cw = L.convW(), cb = L.convB(), st = conv[l];
        for (int t = 0; t < T; t++) {
            for (int ch = from; ch < to; ch++) {
                float sum = cb[ch];
                int wo = ch * K;
                for (int k = 0; k < K; k++) {
                    int idx = t + k - (K - 1); // time index of this tap within the chunk (negative: from state)
                    float v = idx < 0 ? st[(t + k) * dInner + ch] : xz[idx * stride + ch];
                    sum += cw[wo + k] * v;
                }
                xc[t * dInner + ch] = Ops.silu(sum);
            }
        }
        // new state = last K-1 entries of (old state ++ chunk inputs); ascending k reads before overwriting
        for (int k = 0; k < K - 1; k++) {
            int j = T + k; // index in the concatenated sequence
            if (j < K - 1) {
                System.arraycopy(st, j * dInner + from, st, k * dInner + from, to - from);
            } else {
                int src = (j - (K - 1)) * stride;
                System.arraycopy(xz, src + from, st, k * dInner + from, to - from);
            }
        }
    }

    /** Selective scan for channels [from,to) over the chunk: y = (C.h + D*x) * silu(z). */
    private void scanRange(int from, int to, int thread) {
        int l = curLayer, T = curT, dInner = c.dInner(), dState = c.dState(), nx = c.xProjSize();
        int bOff = c.dtRank(), cOff = c.dtRank() + dState;
        MambaWeights.Layer L = w.layers().get(l);
        float[] A = L.a(), D = L.d(), dtb = L.dtBias(), h = ssm[l];
        for (int ch = from; ch < to; ch++) {
            int ho = ch * dState;
            for (int t = 0; t < T; t++) {
                float d = Ops.softplus(dt[t * dInner + ch] + dtb[ch]);
                float xv = xc[t * dInner + ch];
                float dx = d * xv;
                int r = t * nx;
                FloatVector accV = FloatVector.zero(F);
                int s = 0;
                for (int bound = dState - dState % F.length(); s < bound; s += F.length()) {
                    FloatVector decay = FloatVector.fromArray(F, A, ho + s).mul(d).lanewise(VectorOperators.EXP);
                    FloatVector hv = FloatVector.fromArray(F, h, ho + s).mul(decay)
                            .add(FloatVector.fromArray(F, xdb, r + bOff + s).mul(dx));
                    hv.intoArray(h, ho + s);
                    accV = hv.fma(FloatVector.fromArray(F, xdb, r + cOff + s), accV);
                }
                float acc = accV.reduceLanes(VectorOperators.ADD);
                for (; s < dState; s++) {
                    float hs = h[ho + s] * (float) Math.exp(d * A[ho + s]) + xdb[r + bOff + s] * dx;
                    h[ho + s] = hs;
                    acc += hs * xdb[r + cOff + s];
                }
                float z = xz[t * 2 * dInner + dInner + ch];
                y[t * dInner + ch] = (acc + D[ch] * xv) * Ops.silu(z);
            }
        }
    }
}
