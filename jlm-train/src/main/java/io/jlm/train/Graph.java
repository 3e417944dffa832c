package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A reverse-mode autograd tape over float32 {@link Tensor}s. The tape is recorded once for a graph shape (each
 * op call allocates its output and any saved state) and then replayed every step: {@link #forward()} runs the
 * ops in order, {@link #backward(Tensor)} zeroes the activation gradients and runs them in reverse, each op
 * adding its contribution into its inputs' gradients. Replaying allocates nothing, so the training loop makes
 * no garbage; inputs change by overwriting the arrays passed at record time (token ids) or parameter data.
 *
 * <p>Ops run on a {@link ThreadPool} with static work splits, and every cross-row reduction (parameter
 * gradients of norms, biases, embeddings) runs serially in a fixed order, so results are deterministic for a
 * given thread count.
 */
public final class Graph {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final int CHUNK = 4096;

    private final ThreadPool pool;
    private final List<Node> nodes = new ArrayList<>();
    private final List<Tensor> activations = new ArrayList<>();

    private final ThreadPool.RangeBody zeroGrads;

    public Graph(ThreadPool pool) {
        this.pool = pool;
        this.zeroGrads = (from, to, thread) -> { for (int i = from; i < to; i++) Arrays.fill(activations.get(i).grad, 0f); };
    }

    public ThreadPool pool() { return pool; }

    /** Runs every recorded op forward. */
    public void forward() { for (Node n : nodes) { n.back = false; n.forward(); } }

    /** Zeroes activation gradients, seeds {@code d loss = 1} and runs every op backward (parameter gradients accumulate). */
    public void backward(Tensor loss) {
        pool.parallelFor(activations.size(), zeroGrads);
        Arrays.fill(loss.grad, 1f);
        for (int i = nodes.size() - 1; i >= 0; i--) { Node n = nodes.get(i); n.back = true; n.backward(); }
    }

    Tensor act(String name, int... shape) {
        Tensor t = Tensor.zeros(name, shape);
        activations.add(t);
        return t;
    }

    <N extends Node> N add(N n) { nodes.add(n); return n; }

    static void check(boolean ok, String msg) { if (!ok) throw new IllegalArgumentException(msg); }

    /** An op: its parallel work runs through {@link #run} as forward or backward depending on {@link #back}. */
    abstract class Node implements ThreadPool.RangeBody {
        boolean back;
        int work() { return 1; }
        void fwd(int from, int to, int thread) {}
        void bwd(int from, int to, int thread) {}
        void forward() { pool.parallelFor(work(), this); }
        void backward() { pool.parallelFor(work(), this); }
        @Override public final void run(int from, int to, int thread) {
            if (back) bwd(from, to, thread); else fwd(from, to, thread);
        }
    }

    static int chunks(int n) { return (n + CHUNK - 1) / CHUNK; }

    // ------------------------------------------------------------------ embedding

    /** {@code out[r] = table[ids[r]]}; {@code ids} is read at every forward (overwrite it to feed new tokens). */
    public Tensor embedding(Tensor table, int[] ids) {
        int v = table.dim(0), c = table.dim(1);
        Tensor out = act("embed(" + table.name + ")", ids.length, c);
        add(new Node() {
            @Override int work() { return ids.length; }
            @Override void fwd(int from, int to, int t) {
                for (int r = from; r < to; r++) {
                    int id = ids[r];
                    if (id < 0 || id >= v) throw new IllegalArgumentException("token id " + id + " outside [0," + v + ")");
                    System.arraycopy(table.data, id * c, out.data, r * c, c);
                }
            }
            @Override void backward() {
                if (table.grad == null) return;
                for (int r = 0; r < ids.length; r++) axpy(1f, out.grad, r * c, table.grad, ids[r] * c, c);
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ linear / matmul

    /** {@code y = x · w^T (+ b)} for {@code x [M,K]}, {@code w [N,K]} (PyTorch/GGUF layout), {@code b [N]} or null. */
    public Tensor linear(Tensor x, Tensor w, Tensor b) {
        int k = x.cols(), m = x.rows(), n = w.dim(0);
        check(w.rank() == 2 && w.dim(1) == k, "linear: weight " + w + " does not match input " + x);
        check(b == null || b.size() == n, "linear: bias " + b + " does not match weight " + w);
        Tensor out = act("linear(" + w.name + ")", m, n);
        Matmul fwd = new Matmul(pool).set(x.data, 0, k, 1, w.data, 0, 1, k, out.data, 0, n, m, n, k, false);   // B = w^T in place
        Matmul dx = new Matmul(pool).set(out.grad, n, 1, w.data, x.grad, m, k, n, true);
        Matmul dw = new Matmul(pool).set(out.grad, 1, n, x.data, w.grad, n, k, m, true);
        add(new Node() {
            @Override void forward() {
                fwd.run();
                if (b != null) for (int r = 0; r < m; r++) axpy(1f, b.data, 0, out.data, r * n, n);
            }
            @Override void backward() {
                if (x.grad != null) dx.run();
                if (w.grad != null) dw.run();
                if (b != null && b.grad != null) for (int r = 0; r < m; r++) axpy(1f, out.grad, r * n, b.grad, 0, n);
            }
        });
        return out;
    }

    /**
     * Batched matmul {@code out[i] = op(a[i]) · op(b[i])} over the leading dimension of rank-3 tensors, with
     * optional transposes of either operand.
     */
    public Tensor bmm(Tensor a, boolean transA, Tensor b, boolean transB) {
        check(a.rank() == 3 && b.rank() == 3 && a.dim(0) == b.dim(0), "bmm: shapes " + a + " " + b);
        int batch = a.dim(0);
        int m = transA ? a.dim(2) : a.dim(1), k = transA ? a.dim(1) : a.dim(2);
        int kb = transB ? b.dim(2) : b.dim(1), n = transB ? b.dim(1) : b.dim(2);
        check(k == kb, "bmm: inner dimensions differ: " + a + " " + b);
        Tensor out = act("bmm", batch, m, n);
        int as = m * k, bs = k * n, cs = m * n;
        // op(a)(r, kk) at a[i*as + r*aRow + kk*aCol], op(b)(kk, j) at b[i*bs + kk*bRow + j*bCol]: read in place
        int aRow = transA ? 1 : k, aCol = transA ? m : 1, bRow = transB ? 1 : n, bCol = transB ? k : 1;
        float[] dat = new float[as];      // gradient of op(a) as [m,k]
        float[] dbt = new float[bs];      // gradient of op(b) as [k,n]
        Matmul mm = new Matmul(null);
        add(new Node() {
            @Override void forward() {
                for (int i = 0; i < batch; i++)
                    mm.set(a.data, i * as, aRow, aCol, b.data, i * bs, bRow, bCol, out.data, i * cs, n, m, n, k, false).run();
            }
            @Override void backward() {
                for (int i = 0; i < batch; i++) {
                    if (a.grad != null) {   // d op(a) [m,k] = g · op(b)^T
                        mm.set(out.grad, i * cs, n, 1, b.data, i * bs, bCol, bRow, dat, 0, k, m, k, n, false).run();
                        for (int r = 0; r < m; r++) for (int kk = 0; kk < k; kk++)
                            a.grad[i * as + r * aRow + kk * aCol] += dat[r * k + kk];
                    }
                    if (b.grad != null) {   // d op(b) [k,n] = op(a)^T · g
                        mm.set(a.data, i * as, aCol, aRow, out.grad, i * cs, n, 1, dbt, 0, n, k, n, m, false).run();
                        for (int kk = 0; kk < k; kk++) for (int j = 0; j < n; j++)
                            b.grad[i * bs + kk * bRow + j * bCol] += dbt[kk * n + j];
                    }
                }
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ elementwise

    /** {@code a + b} (same size). */
    public Tensor add(Tensor a, Tensor b) {
        check(a.size() == b.size(), "add: sizes differ " + a + " " + b);
        Tensor out = act("add", a.shape);
        int size = a.size();
        add(new Node() {
            @Override int work() { return chunks(size); }
            @Override void fwd(int from, int to, int t) {
                int s = from * CHUNK, e = Math.min(size, to * CHUNK);
                System.arraycopy(a.data, s, out.data, s, e - s);
                axpy(1f, b.data, s, out.data, s, e - s);
            }
            @Override void bwd(int from, int to, int t) {
                int s = from * CHUNK, e = Math.min(size, to * CHUNK);
                if (a.grad != null) axpy(1f, out.grad, s, a.grad, s, e - s);
                if (b.grad != null) axpy(1f, out.grad, s, b.grad, s, e - s);
            }
        });
        return out;
    }

    /** {@code x + bias} with {@code bias [C]} broadcast over the rows of {@code x [.., C]}. */
    public Tensor addBias(Tensor x, Tensor bias) {
        int c = x.cols(), m = x.rows();
        check(bias.size() == c, "addBias: " + bias + " vs " + x);
        Tensor out = act("bias", x.shape);
        add(new Node() {
            @Override int work() { return m; }
            @Override void fwd(int from, int to, int t) {
                for (int r = from; r < to; r++) {
                    System.arraycopy(x.data, r * c, out.data, r * c, c);
                    axpy(1f, bias.data, 0, out.data, r * c, c);
                }
            }
            @Override void backward() {
                if (x.grad != null) axpy(1f, out.grad, 0, x.grad, 0, m * c);
                if (bias.grad != null) for (int r = 0; r < m; r++) axpy(1f, out.grad, r * c, bias.grad, 0, c);
            }
        });
        return out;
    }

    /** Elementwise {@code a * b}. */
    public Tensor mul(Tensor a, Tensor b) {
        check(a.size() == b.size(), "mul: sizes differ " + a + " " + b);
        Tensor out = act("mul", a.shape);
        int size = a.size();
        add(new Node() {
            @Override int work() { return chunks(size); }
            @Override void fwd(int from, int to, int t) {
                int s = from * CHUNK, e = Math.min(size, to * CHUNK);
                for (int i = s; i < e; i++) out.data[i] = a.data[i] * b.data[i];
            }
            @Override void bwd(int from, int to, int t) {
                int s = from * CHUNK, e = Math.min(size, to * CHUNK);
                for (int i = s; i < e; i++) {
                    float g = out.grad[i];
                    if (a.grad != null) a.grad[i] += g * b.data[i];
                    if (b.grad != null) b.grad[i] += g * a.data[i];
                }
            }
        });
        return out;
    }

    private static final float GELU_S = (float) Math.sqrt(2.0 / Math.PI), GELU_C = 0.044715f;

    /** GELU, tanh approximation: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
    public Tensor gelu(Tensor x) {
        Tensor out = act("gelu", x.shape);
        int size = x.size();
        add(new Node() {
            @Override int work() { return chunks(size); }
            @Override void fwd(int from, int to, int t) {
                int s = from * CHUNK, e = Math.min(size, to * CHUNK), i = s;
                for (; i + L <= e; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, i);
                    FloatVector u = v.mul(v).mul(GELU_C).add(1f).mul(v).mul(GELU_S);
                    FloatVector th = VMath.tanh(u);
                    th.add(1f).mul(v).mul(0.5f).intoArray(out.data, i);
                }
                for (; i < e; i++) {
                    float v = x.data[i];
                    out.data[i] = 0.5f * v * (1f + VMath.tanh(GELU_S * (v + GELU_C * v * v * v)));
                }
            }
            @Override void bwd(int from, int to, int t) {
                if (x.grad == null) return;
                int s = from * CHUNK, e = Math.min(size, to * CHUNK), i = s;
                for (; i + L <= e; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, i);
                    FloatVector v2 = v.mul(v);
                    FloatVector th = VMath.tanh(v2.mul(GELU_C).add(1f).mul(v).mul(GELU_S));
                    FloatVector du = v2.mul(3f * GELU_C).add(1f).mul(GELU_S);
                    FloatVector d = th.add(1f).mul(0.5f)
                            .add(v.mul(0.5f).mul(th.mul(th).neg().add(1f)).mul(du));
                    FloatVector.fromArray(S, out.grad, i).fma(d, FloatVector.fromArray(S, x.grad, i)).intoArray(x.grad, i);
                }
                for (; i < e; i++) {
                    float v = x.data[i];
                    float th = VMath.tanh(GELU_S * (v + GELU_C * v * v * v));
                    float d = 0.5f * (1f + th) + 0.5f * v * (1f - th * th) * GELU_S * (1f + 3f * GELU_C * v * v);
                    x.grad[i] += out.grad[i] * d;
                }
            }
        });
        return out;
    }

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2)), INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));

    /**
     * Exact GELU {@code 0.5 x (1 + erf(x / sqrt 2))} (PyTorch's {@code nn.GELU()} default, used by nanoGPT). The
     * forward saves the normal cdf {@code 0.5 (1 + erf(x / sqrt 2))} for the backward, which then needs only exp
     * (with erf and exp both in the backward loop C2 reached its inlining node limit, compiled exp out of line and
     * ran it on boxed vectors: ~20 MB of garbage and 10 % of a training step).
     */
    public Tensor geluErf(Tensor x) {
        Tensor out = act("gelu_erf", x.shape);
        int size = x.size();
        float[] cdf = new float[size];
        add(new Node() {
            @Override int work() { return chunks(size); }
            @Override void fwd(int from, int to, int t) {
                int s = from * CHUNK, e = Math.min(size, to * CHUNK), i = s;
                for (; i + L <= e; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, i);
                    FloatVector c = VMath.erf(v.mul(INV_SQRT2)).add(1f).mul(0.5f);
                    c.intoArray(cdf, i);
                    c.mul(v).intoArray(out.data, i);
                }
                for (; i < e; i++) {
                    float v = x.data[i], c = (VMath.erf(v * INV_SQRT2) + 1f) * 0.5f;
                    cdf[i] = c;
                    out.data[i] = c * v;
                }
            }
            @Override void bwd(int from, int to, int t) {
                if (x.grad == null) return;
                int s = from * CHUNK, e = Math.min(size, to * CHUNK), i = s;
                for (; i + L <= e; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, i);
                    FloatVector pdf = VMath.exp(v.mul(v).mul(-0.5f)).mul(INV_SQRT_2PI);
                    FloatVector d = v.mul(pdf).add(FloatVector.fromArray(S, cdf, i));
                    FloatVector.fromArray(S, out.grad, i).fma(d, FloatVector.fromArray(S, x.grad, i)).intoArray(x.grad, i);
                }
                for (; i < e; i++) {
                    float v = x.data[i], pdf = VMath.exp(v * v * -0.5f) * INV_SQRT_2PI;
                    x.grad[i] += out.grad[i] * (v * pdf + cdf[i]);
                }
            }
        });
        return out;
    }

    /** SiLU {@code x * sigmoid(x)}. */
    public Tensor silu(Tensor x) {
        Tensor out = act("silu", x.shape);
        int size = x.size();
        add(new Node() {
            @Override int work() { return chunks(size); }
            @Override void fwd(int from, int to, int t) {
                int s = from * CHUNK, e = Math.min(size, to * CHUNK), i = s;
                for (; i + L <= e; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, i);
                    v.mul(VMath.sigmoid(v)).intoArray(out.data, i);
                }
                for (; i < e; i++) { float v = x.data[i]; out.data[i] = v * VMath.sigmoid(v); }
            }
            @Override void bwd(int from, int to, int t) {
                if (x.grad == null) return;
                int s = from * CHUNK, e = Math.min(size, to * CHUNK), i = s;
                for (; i + L <= e; i += L) {
                    FloatVector v = FloatVector.fromArray(S, x.data, i);
                    FloatVector sg = VMath.sigmoid(v);
                    FloatVector d = sg.mul(v.mul(sg.neg().add(1f)).add(1f));
                    FloatVector.fromArray(S, out.grad, i).fma(d, FloatVector.fromArray(S, x.grad, i)).intoArray(x.grad, i);
                }
                for (; i < e; i++) {
                    float v = x.data[i], sg = VMath.sigmoid(v);
                    x.grad[i] += out.grad[i] * sg * (1f + v * (1f - sg));
                }
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ norms

    /** LayerNorm over the last dimension with weight {@code g [C]} and optional bias {@code b [C]}. */
    public Tensor layerNorm(Tensor x, Tensor g, Tensor b, float eps) { return norm(x, g, b, eps, false); }

    /** RMSNorm over the last dimension: {@code x / sqrt(mean(x^2) + eps) * g}. */
    public Tensor rmsNorm(Tensor x, Tensor g, float eps) { return norm(x, g, null, eps, true); }

    private Tensor norm(Tensor x, Tensor g, Tensor b, float eps, boolean rms) {
        int c = x.cols(), m = x.rows();
        check(g.size() == c && (b == null || b.size() == c), "norm: parameters do not match " + x);
        Tensor out = act(rms ? "rmsnorm" : "layernorm", x.shape);
        float[] mean = new float[m], rstd = new float[m];
        add(new Node() {
            @Override int work() { return m; }
            @Override void fwd(int from, int to, int t) {
                float[] xd = x.data, od = out.data, gd = g.data;
                for (int r = from; r < to; r++) {
                    int o = r * c;
                    float mu = 0f;
                    if (!rms) { for (int i = 0; i < c; i++) mu += xd[o + i]; mu /= c; }
                    float var = 0f;
                    for (int i = 0; i < c; i++) { float d = xd[o + i] - mu; var += d * d; }
                    float rs = (float) (1.0 / Math.sqrt(var / c + eps));
                    mean[r] = mu; rstd[r] = rs;
                    for (int i = 0; i < c; i++) od[o + i] = (xd[o + i] - mu) * rs * gd[i] + (b == null ? 0f : b.data[i]);
                }
            }
            @Override void bwd(int from, int to, int t) {
                if (x.grad == null) return;
                float[] xd = x.data, dy = out.grad, gd = g.data, dx = x.grad;
                for (int r = from; r < to; r++) {
                    int o = r * c;
                    float mu = mean[r], rs = rstd[r], sum = 0f, sumx = 0f;
                    for (int i = 0; i < c; i++) {
                        float dxh = dy[o + i] * gd[i];
                        sum += dxh; sumx += dxh * (xd[o + i] - mu) * rs;
                    }
                    sum /= c; sumx /= c;
                    if (rms) sum = 0f;
                    for (int i = 0; i < c; i++) {
                        float xh = (xd[o + i] - mu) * rs;
                        dx[o + i] += rs * (dy[o + i] * gd[i] - sum - xh * sumx);
                    }
                }
            }
            @Override void backward() {
                super.backward();
                for (int r = 0; r < m; r++) {
                    int o = r * c;
                    float mu = mean[r], rs = rstd[r];
                    if (g.grad != null) for (int i = 0; i < c; i++) g.grad[i] += out.grad[o + i] * (x.data[o + i] - mu) * rs;
                    if (b != null && b.grad != null) axpy(1f, out.grad, o, b.grad, 0, c);
                }
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ attention

    /**
     * Causal multi-head softmax attention, fused: {@code qkv [B*T, 3C]} holds per row the queries, keys and
     * values of all heads (head h at columns {@code h*hs .. (h+1)*hs} of each third); the output
     * {@code [B*T, C]} has the heads side by side again. Scores are scaled by {@code 1/sqrt(hs)}.
     */
    public Tensor causalAttention(Tensor qkv, int batch, int t, int heads) {
        return attention(qkv, batch, t, heads, heads, 0, null);
    }

    /**
     * Causal softmax attention with grouped KV heads, an optional sliding window and optional ALiBi slopes.
     * {@code qkv [B*T, (heads + 2 kvHeads) hs]} holds Q, then K, then V; query head {@code h} reads KV head
     * {@code h / (heads / kvHeads)}. Position {@code i} attends to {@code j <= i} and, when {@code window > 0},
     * {@code j > i - window}; the score is {@code q·k / sqrt(hs) - slopes[h] (i - j)} ({@code slopes} may be null).
     * Output {@code [B*T, heads hs]}.
     */
    public Tensor attention(Tensor qkv, int batch, int t, int heads, int kvHeads, int window, float[] slopes) {
        return attention(qkv, batch, t, heads, kvHeads, window, slopes, null);
    }

    /**
     * As above, for packed sequences when {@code docStart} is not null: row {@code r} (position {@code i} of its
     * sequence) attends only to positions {@code >= docStart[r]}, the start of its document (read at every forward).
     */
    public Tensor attention(Tensor qkv, int batch, int t, int heads, int kvHeads, int window, float[] slopes, int[] docStart) {
        int width = qkv.cols(), hs = width / (heads + 2 * kvHeads), c = heads * hs, kc = c, vc = c + kvHeads * hs;
        check(width == (heads + 2 * kvHeads) * hs && heads % kvHeads == 0 && qkv.rows() == batch * t,
                "attention: qkv " + qkv + " for B=" + batch + " T=" + t + " heads=" + heads + " kv heads=" + kvHeads);
        check(slopes == null || slopes.length == heads, "attention: " + (slopes == null ? 0 : slopes.length)
                + " ALiBi slopes for " + heads + " heads");
        int group = heads / kvHeads;
        Tensor out = act("attention", batch * t, c);
        float[] p = new float[batch * heads * t * t];
        float scale = (float) (1.0 / Math.sqrt(hs));
        Matmul[] mms = new Matmul[pool.threads()];          // per thread; each head's products are single-threaded
        for (int i = 0; i < mms.length; i++) mms[i] = new Matmul(null);
        // Per (sequence, head) the products are matrix multiplies over T x T (masked entries of P and dS are zero,
        // and the causal triangle lets Matmul skip the tiles and parts of K that are all zero):
        // S = Q K^T, Y = P V; backward dP = dY V^T, dQ += dS K, dK += dS^T Q, dV += P^T dY.
        add(new Node() {
            @Override int work() { return batch * heads; }
            @Override void fwd(int from, int to, int thread) {
                float[] sc = pool.scratch(thread, t * t);
                float[] q = qkv.data;
                Matmul mm = mms[thread];
                for (int bh = from; bh < to; bh++) {
                    int bi = bh / heads, h = bh % heads, base = bi * t, kh = h / group, pb = bh * t * t;
                    float slope = slopes == null ? 0f : slopes[h];
                    mm.set(q, base * width + h * hs, width, 1, q, base * width + kc + kh * hs, 1, width, sc, 0, t,
                            t, t, hs, false).triangle(Matmul.Triangle.C_LOWER).run();                 // S = Q K^T
                    for (int i = 0; i < t; i++) {
                        int lo = first(i, base, window, docStart), n = i + 1 - lo, srow = i * t + lo, prow = pb + i * t;
                        float max = Float.NEGATIVE_INFINITY;
                        int s = 0;
                        if (slope == 0f) {
                            FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                            for (; s + L <= n; s += L) {
                                FloatVector v = FloatVector.fromArray(S, sc, srow + s).mul(scale);
                                v.intoArray(sc, srow + s);
                                vmax = vmax.max(v);
                            }
                            max = vmax.reduceLanes(VectorOperators.MAX);
                        }
                        for (; s < n; s++) {
                            float v = sc[srow + s] * scale - slope * (i - lo - s);
                            sc[srow + s] = v;
                            max = Math.max(max, v);
                        }
                        float inv = 1f / expShift(sc, srow, n, max);
                        Arrays.fill(p, prow, prow + lo, 0f);
                        Arrays.fill(p, prow + i + 1, prow + t, 0f);
                        for (s = 0; s + L <= n; s += L) FloatVector.fromArray(S, sc, srow + s).mul(inv).intoArray(p, prow + lo + s);
                        for (; s < n; s++) p[prow + lo + s] = sc[srow + s] * inv;
                    }
                    mm.set(p, pb, t, 1, q, base * width + vc + kh * hs, width, 1, out.data, base * c + h * hs, c,
                            t, hs, t, false).triangle(Matmul.Triangle.A_LOWER).run();                 // Y = P V
                }
            }
            @Override void backward() {
                // query heads of one KV group write the same dK/dV rows: split the work by KV group
                pool.parallelFor(batch * kvHeads, this);
            }
            @Override void bwd(int from, int to, int thread) {
                if (qkv.grad == null) return;
                float[] ds = pool.scratch(thread, t * t);
                float[] q = qkv.data, dq = qkv.grad, dy = out.grad;
                Matmul mm = mms[thread];
                for (int bg = from; bg < to; bg++) for (int h = (bg % kvHeads) * group; h < (bg % kvHeads + 1) * group; h++) {
                    int bi = bg / kvHeads, base = bi * t, kh = h / group, pb = (bi * heads + h) * t * t;
                    int qo = base * width + h * hs, ko = base * width + kc + kh * hs, vo = base * width + vc + kh * hs;
                    int yo = base * c + h * hs;
                    mm.set(dy, yo, c, 1, q, vo, 1, width, ds, 0, t, t, t, hs, false).triangle(Matmul.Triangle.C_LOWER).run();  // dP = dY V^T
                    for (int i = 0; i < t; i++) {
                        int lo = first(i, base, window, docStart), row = i * t;
                        float dot = 0f;
                        for (int j = lo; j <= i; j++) dot += p[pb + row + j] * ds[row + j];
                        Arrays.fill(ds, row, row + lo, 0f);
                        Arrays.fill(ds, row + i + 1, row + t, 0f);
                        int j = lo;
                        for (; j + L <= i + 1; j += L)
                            FloatVector.fromArray(S, p, pb + row + j).mul(FloatVector.fromArray(S, ds, row + j).sub(dot)).mul(scale)
                                    .intoArray(ds, row + j);
                        for (; j <= i; j++) ds[row + j] = p[pb + row + j] * (ds[row + j] - dot) * scale;
                    }
                    mm.set(ds, 0, t, 1, q, ko, width, 1, dq, qo, width, t, hs, t, true).triangle(Matmul.Triangle.A_LOWER).run();   // dQ += dS K
                    mm.set(ds, 0, 1, t, q, qo, width, 1, dq, ko, width, t, hs, t, true).triangle(Matmul.Triangle.A_UPPER).run();   // dK += dS^T Q
                    mm.set(p, pb, 1, t, dy, yo, c, 1, dq, vo, width, t, hs, t, true).triangle(Matmul.Triangle.A_UPPER).run();      // dV += P^T dY
                }
            }
        });
        return out;
    }

    /** The first position row {@code i} of a sequence attends to (window start, document start). */
    private static int first(int i, int base, int window, int[] docStart) {
        int lo = window > 0 ? Math.max(0, i - window + 1) : 0;
        return docStart != null ? Math.max(lo, docStart[base + i]) : lo;
    }

    /** ALiBi slopes {@code 2^(-8 (h+1) / heads)}. */
    public static float[] alibiSlopes(int heads) {
        float[] m = new float[heads];
        for (int h = 0; h < heads; h++) m[h] = (float) Math.pow(2, -8.0 * (h + 1) / heads);
        return m;
    }

    /** {@code x[o..o+n) = exp(x - max)}, returns the sum. */
    static float expShift(float[] x, int o, int n, float max) {
        int i = 0;
        for (; i + L <= n; i += L) VMath.exp(FloatVector.fromArray(S, x, o + i).sub(max)).intoArray(x, o + i);
        for (; i < n; i++) x[o + i] = VMath.exp(x[o + i] - max);
        float sum = 0f;
        for (int j = 0; j < n; j++) sum += x[o + j];
        return sum;
    }

    // ------------------------------------------------------------------ RoPE

    /**
     * Rotary position embedding (adjacent pairs, as llama.cpp's normal mode): within each head of
     * {@code headDim} columns among the first {@code rotCols} columns of {@code x [B*T, W]}, the pair
     * {@code (2i, 2i+1)} at position {@code p = row % T} is rotated by {@code p * theta^(-2i/headDim)}; the other
     * columns are copied.
     */
    public Tensor rope(Tensor x, int t, int headDim, int rotCols, float theta) {
        return rope(x, t, headDim, rotCols, theta, 1f);
    }

    /** RoPE with positions multiplied by {@code posScale} (position interpolation: {@code 1 / factor}). */
    public Tensor rope(Tensor x, int t, int headDim, int rotCols, float theta, float posScale) {
        return rope(x, t, headDim, rotCols, theta, posScale, null);
    }

    /** RoPE where row {@code r}'s position is {@code r % T - docStart[r]} (positions restart per packed document). */
    public Tensor rope(Tensor x, int t, int headDim, int rotCols, float theta, float posScale, int[] docStart) {
        int w = x.cols(), m = x.rows(), half = headDim / 2;
        check(headDim % 2 == 0 && rotCols % headDim == 0 && rotCols <= w && m % t == 0, "rope: bad shape " + x);
        Tensor out = act("rope", x.shape);
        float[] cos = new float[t * half], sin = new float[t * half];
        for (int pos = 0; pos < t; pos++) for (int i = 0; i < half; i++) {
            double ang = pos * (double) posScale * Math.pow(theta, -2.0 * i / headDim);
            cos[pos * half + i] = (float) Math.cos(ang); sin[pos * half + i] = (float) Math.sin(ang);
        }
        add(new Node() {
            @Override int work() { return m; }
            @Override void fwd(int from, int to, int th) {
                for (int r = from; r < to; r++) {
                    int o = r * w, pos = r % t - (docStart == null ? 0 : docStart[r]);
                    for (int j = 0; j < rotCols; j += 2) {
                        int i = (j % headDim) / 2;
                        float cs = cos[pos * half + i], sn = sin[pos * half + i], a = x.data[o + j], b = x.data[o + j + 1];
                        out.data[o + j] = a * cs - b * sn;
                        out.data[o + j + 1] = a * sn + b * cs;
                    }
                    System.arraycopy(x.data, o + rotCols, out.data, o + rotCols, w - rotCols);
                }
            }
            @Override void bwd(int from, int to, int th) {
                if (x.grad == null) return;
                for (int r = from; r < to; r++) {
                    int o = r * w, pos = r % t - (docStart == null ? 0 : docStart[r]);
                    for (int j = 0; j < rotCols; j += 2) {
                        int i = (j % headDim) / 2;
                        float cs = cos[pos * half + i], sn = sin[pos * half + i], ga = out.grad[o + j], gb = out.grad[o + j + 1];
                        x.grad[o + j] += ga * cs + gb * sn;
                        x.grad[o + j + 1] += -ga * sn + gb * cs;
                    }
                    axpy(1f, out.grad, o + rotCols, x.grad, o + rotCols, w - rotCols);
                }
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ loss

    /**
     * Mean cross-entropy of {@code logits [M,V]} against {@code targets} (read at every forward); a scalar. Rows whose
     * target is {@code -1} are not scored (the mean is over the scored rows; 0 when there are none).
     */
    public Tensor crossEntropy(Tensor logits, int[] targets) {
        int v = logits.cols(), m = logits.rows();
        check(targets.length == m, "crossEntropy: " + targets.length + " targets for " + m + " rows");
        Tensor out = act("loss", 1);
        float[] prob = new float[m * v];
        double[] rowLoss = new double[m];
        int[] scored = new int[1];
        add(new Node() {
            @Override int work() { return m; }
            @Override void fwd(int from, int to, int th) {
                for (int r = from; r < to; r++) {
                    int o = r * v, tg = targets[r];
                    if (tg == -1) { rowLoss[r] = 0; continue; }
                    if (tg < 0 || tg >= v) throw new IllegalArgumentException("target " + tg + " outside [0," + v + ")");
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < v; j++) max = Math.max(max, logits.data[o + j]);
                    System.arraycopy(logits.data, o, prob, o, v);
                    float sum = expShift(prob, o, v, max);
                    float inv = 1f / sum;
                    for (int j = 0; j < v; j++) prob[o + j] *= inv;
                    rowLoss[r] = Math.log(sum) + max - logits.data[o + tg];
                }
            }
            @Override void forward() {
                super.forward();
                double s = 0;
                int n = 0;
                for (int r = 0; r < m; r++) { s += rowLoss[r]; if (targets[r] != -1) n++; }
                scored[0] = n;
                out.data[0] = n == 0 ? 0f : (float) (s / n);
            }
            @Override void bwd(int from, int to, int th) {
                if (logits.grad == null) return;
                if (scored[0] == 0) return;
                float g = out.grad[0] / scored[0];
                for (int r = from; r < to; r++) {
                    if (targets[r] == -1) continue;
                    int o = r * v;
                    axpy(g, prob, o, logits.grad, o, v);
                    logits.grad[o + targets[r]] -= g;
                }
            }
        });
        return out;
    }

    /** {@code sum(x * w)} for a fixed weight array (a scalar; used to test gradients of any op). */
    public Tensor weightedSum(Tensor x, float[] w) {
        check(w.length == x.size(), "weightedSum: " + w.length + " weights for " + x);
        Tensor out = act("wsum", 1);
        add(new Node() {
            @Override void forward() {
                double s = 0;
                for (int i = 0; i < w.length; i++) s += (double) x.data[i] * w[i];
                out.data[0] = (float) s;
            }
            @Override void backward() { if (x.grad != null) axpy(out.grad[0], w, 0, x.grad, 0, w.length); }
        });
        return out;
    }

    // ------------------------------------------------------------------ helpers

    /** {@code y[yo..yo+n) += a * x[xo..xo+n)}. */
    static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        if (n >= L) {
            FloatVector av = FloatVector.broadcast(S, a);
            for (; i + L <= n; i += L)
                FloatVector.fromArray(S, x, xo + i).fma(av, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += a * x[xo + i];
    }
}
