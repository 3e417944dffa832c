package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;

import java.util.List;

/**
 * SWAN (Ma et al. 2024, "SWAN: SGD with Normalization and Whitening"): a stateless update for the 2-D
 * weights of the blocks: each gradient row is standardised (GradNorm: zero mean, unit variance across the row),
 * then the matrix is whitened (GradWhitening: {@code (G G^T)^{-1/2} G}, or {@code G (G^T G)^{-1/2}} when it has
 * more rows than columns, by a coupled Newton-Schulz iteration), and {@code w -= lr * G_white} with decoupled
 * weight decay. As in the paper, embeddings, the output head and 1-D parameters use AdamW (state in {@code m},
 * {@code v}; SWAN keeps none).
 */
public final class Swan extends Optimizer {
    private final boolean[] swan;
    public final double weightDecay;
    public final int iterations;
    private final float[][] gs, as, ys, zs, tts, tmps, outs;
    private final Matmul[] mms;        // per thread, single-threaded
    private final double beta1, beta2;
    private final ThreadPool pool;
    private final int[] swanIdx;
    private double lr;
    private final ThreadPool.RangeBody body;

    public Swan(List<Model.Param> params, double beta1, double beta2, double weightDecay, int iterations) {
        this(params, beta1, beta2, weightDecay, iterations, null);
    }

    /** As above; with a pool the block matrices are whitened in parallel, one matrix per thread at a time. */
    public Swan(List<Model.Param> params, double beta1, double beta2, double weightDecay, int iterations, ThreadPool pool) {
        super(params);
        this.pool = pool;
        this.weightDecay = weightDecay; this.iterations = iterations;
        this.beta1 = beta1; this.beta2 = beta2;
        swan = new boolean[params.size()];
        int maxK = 1, maxSize = 1;
        for (int i = 0; i < params.size(); i++) {
            Model.Param p = params.get(i);
            String n = p.name();
            swan[i] = p.tensor().rank() == 2 && !n.equals("tok_embd") && !n.equals("pos_embd") && !n.equals("output");
            if (swan[i]) {
                maxK = Math.max(maxK, Math.min(p.tensor().dim(0), p.tensor().dim(1)));
                maxSize = Math.max(maxSize, p.tensor().size());
            }
        }
        int th = pool == null ? 1 : pool.threads();
        gs = new float[th][maxSize]; outs = new float[th][maxSize];
        as = new float[th][maxK * maxK]; ys = new float[th][maxK * maxK]; zs = new float[th][maxK * maxK];
        tts = new float[th][maxK * maxK]; tmps = new float[th][maxK * maxK];
        mms = new Matmul[th];
        for (int t = 0; t < th; t++) mms[t] = new Matmul(null);
        swanIdx = java.util.stream.IntStream.range(0, params.size()).filter(i -> swan[i]).toArray();
        body = (from, to, thread) -> {
            for (int q = from; q < to; q++) {
                Tensor w = params.get(swanIdx[q]).tensor();
                float[] out = outs[thread];
                whiten(thread, w.grad, w.dim(0), w.dim(1), out);
                float decay = (float) (1 - this.lr * weightDecay), s = (float) this.lr;
                for (int j = 0; j < w.size(); j++) w.data[j] = w.data[j] * decay - s * out[j];
            }
        };
    }

    @Override public void step(double lr) {
        t++;
        for (int i = 0; i < params.size(); i++) if (!swan[i]) adamStep(i, lr);
        this.lr = lr;
        if (pool != null) pool.parallelFor(swanIdx.length, body);
        else body.run(0, swanIdx.length, 0);
    }

    private void adamStep(int i, double lr) {
        double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
        float b1 = (float) beta1, b2 = (float) beta2;
        float stepSize = (float) (lr / bc1), invBc2Sqrt = (float) (1 / Math.sqrt(bc2));
        Model.Param p = params.get(i);
        float[] w = p.tensor().data, gr = p.tensor().grad, mi = m[i], vi = v[i];
        float decay = p.decay() ? (float) (1 - lr * weightDecay) : 1f;
        for (int j = 0; j < w.length; j++) {
            mi[j] = b1 * mi[j] + (1 - b1) * gr[j];
            vi[j] = b2 * vi[j] + (1 - b2) * gr[j] * gr[j];
            w[j] = w[j] * decay - stepSize * mi[j] / ((float) Math.sqrt(vi[j]) * invBc2Sqrt + 1e-8f);
        }
    }

    /** {@code dst = GradWhitening(GradNorm(src))} for a rows x cols matrix. */
    void whiten(float[] src, int rows, int cols, float[] dst) { whiten(0, src, rows, cols, dst); }

    private void whiten(int thread, float[] src, int rows, int cols, float[] dst) {
        float[] g = gs[thread], a = as[thread], y = ys[thread], z = zs[thread], tt = tts[thread], tmp = tmps[thread];
        Matmul mm = mms[thread];
        for (int r = 0; r < rows; r++) {                       // GradNorm
            double mu = 0, var = 0;
            for (int c = 0; c < cols; c++) mu += src[r * cols + c];
            mu /= cols;
            for (int c = 0; c < cols; c++) { double d = src[r * cols + c] - mu; var += d * d; }
            float inv = (float) (1 / Math.sqrt(var / cols + 1e-12));
            for (int c = 0; c < cols; c++) g[r * cols + c] = (float) (src[r * cols + c] - mu) * inv;
        }
        boolean left = rows <= cols;
        int k = left ? rows : cols, n = left ? cols : rows;
        // a = G G^T / n (left) or G^T G / n (right), k x k, plus a small ridge
        if (left) mm.set(g, 0, cols, 1, g, 0, 1, cols, a, 0, k, k, k, n, false).run();     // B = G^T read in place
        else mm.set(g, 1, cols, g, a, k, k, n, false).run();
        double fro = 0;
        for (int i = 0; i < k * k; i++) { a[i] /= n; }
        for (int i = 0; i < k; i++) a[i * k + i] += 1e-3f;
        for (int i = 0; i < k * k; i++) fro += (double) a[i] * a[i];
        float c = (float) Math.sqrt(fro);
        for (int i = 0; i < k * k; i++) { y[i] = a[i] / c; z[i] = 0f; }
        for (int i = 0; i < k; i++) z[i * k + i] = 1f;
        for (int it = 0; it < iterations; it++) {              // coupled Newton-Schulz: z -> (a/c)^{-1/2}
            mm.set(z, k, 1, y, tt, k, k, k, false).run();
            for (int i = 0; i < k * k; i++) tt[i] = -0.5f * tt[i];
            for (int i = 0; i < k; i++) tt[i * k + i] += 1.5f;
            mm.set(y, k, 1, tt, tmp, k, k, k, false).run();
            System.arraycopy(tmp, 0, y, 0, k * k);
            mm.set(tt, k, 1, z, tmp, k, k, k, false).run();
            System.arraycopy(tmp, 0, z, 0, k * k);
        }
        float s = (float) (1 / Math.sqrt(c));                  // a^{-1/2} = z / sqrt(c)
        for (int i = 0; i < k * k; i++) z[i] *= s;
        if (left) mm.set(z, k, 1, g, dst, rows, cols, k, false).run();      // (k x k) (rows x cols)
        else mm.set(g, cols, 1, z, dst, rows, cols, k, false).run();        // (rows x cols) (k x k)
    }
}
