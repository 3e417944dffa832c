package io.jlm.models.transformer;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;
import io.jlm.models.ops.Ops;
import io.jlm.models.state.AttendingKvCache;
import io.jlm.models.state.AttentionGeometry;
import io.jlm.models.state.KvCache;
import io.jlm.models.state.SplitKAttention;

import java.util.Arrays;

/**
 * The forward computation of one {@link TransformerState}: scratch buffers (grown on demand for prefill batches,
 * then reused, so decoding one token allocates nothing) and the block implementation shared by all
 * architectures. Activations of a batch are stored row-major, one row of {@code width} floats per token.
 */
final class ForwardPass {
    /** Prompt tokens are processed in chunks of at most this many rows (bounds scratch memory). */
    static final int MAX_BATCH = 512;

    private final TransformerConfig c;
    private final TransformerWeights w;
    private final ThreadPool pool;
    private final TransformerState state;
    private final KvCache cache;
    private final ArchSpec.RopeMode ropeMode;
    private final int dim, qDim, kvDim, headDim, ffn, vocab, ropeHalf;

    /** RoPE angle per position unit for each rotated pair, and the cos/sin magnitude. */
    private final double[] invFreq;
    private final float ropeScale;

    // scratch, sized for `rows` tokens
    private int rows;
    private float[] x, xn, q, k, v, qkv, att, proj, gate, up, hid, cos, sin;
    private final float[] lastLogits;
    private float[] batchLogits;
    private final float[][] scores;
    private final float[][] queryScratch;

    // arguments of the parallel attention body (set before each parallelFor)
    private int curLayer, curBatch, curPos0;
    private boolean fusedGateUp;
    private final ThreadPool.RangeBody attentionBody = this::attentionRange;
    /** The cache as an {@link AttendingKvCache} when it computes attention itself (policy caches), else null. */
    private final AttendingKvCache attending;
    private final ThreadPool.RangeBody attendingBody = this::attendingRange;
    /** Split-K decode attention (context of one query split across threads) and its split count per head. */
    private final SplitKAttention splitK;
    private int curSplits;
    private final ThreadPool.RangeBody splitBody = this::splitRange;
    private final ThreadPool.RangeBody activationBody = this::activationRows;

    ForwardPass(TransformerModel model, TransformerState state) {
        this.c = model.transformerConfig();
        this.w = model.weights();
        this.pool = model.pool();
        this.state = state;
        this.cache = state.cache();
        this.ropeMode = c.arch().rope();
        this.dim = c.dim();
        this.qDim = c.qDim();
        this.kvDim = c.kvDim();
        this.headDim = c.headDim();
        this.ffn = c.ffnDim();
        this.vocab = c.vocabSize();
        this.ropeHalf = c.ropeDim() / 2;
        int capacity = cache.capacity();

        float[] factors = w.ropeFreqFactors();
        if (factors == null && (w.ropeFactorsShort() != null || w.ropeFactorsLong() != null)) {
            // Phi-3 longrope: long factors when this state's context exceeds the original training context
            boolean useLong = capacity > w.ropeOriginalContext() && w.ropeFactorsLong() != null;
            factors = useLong || w.ropeFactorsShort() == null ? w.ropeFactorsLong() : w.ropeFactorsShort();
        }
        this.ropeScale = w.ropeAttnFactor();
        this.invFreq = new double[ropeHalf];
        for (int i = 0; i < ropeHalf; i++) {
            double f = c.ropeFreqScale() * Math.pow(c.ropeBase(), -2.0 * i / c.ropeDim());
            if (factors != null) f /= factors[i];
            invFreq[i] = f;
        }
        this.lastLogits = new float[vocab];
        this.attending = cache instanceof AttendingKvCache a ? a : null;
        this.scores = new float[pool.threads()][attending != null ? 1 : Math.min(capacity, cache.maxAttended())];
        this.queryScratch = new float[pool.threads()][headDim];
        this.splitK = new SplitKAttention(headDim);
        if (attending != null) {
            int[] windows = new int[c.layers()];
            for (int l = 0; l < c.layers(); l++) windows[l] = c.window(l);
            attending.configure(new AttentionGeometry(c.heads(), c.kvHeads(), headDim, c.queryScale(),
                    c.attnSoftcap(), windows, pool.threads(),
                    new AttentionGeometry.Rope(c.ropeDim(), invFreq.clone(), ropeMode == ArchSpec.RopeMode.NEOX)));
        }
        ensureRows(1);
    }

    private void ensureRows(int n) {
        if (n <= rows) return;
        rows = n;
        x = new float[n * dim];
        xn = new float[n * dim];
        q = new float[n * qDim];
        k = new float[n * kvDim];
        v = new float[n * kvDim];
        boolean fusedQkv = Arrays.stream(w.layers()).anyMatch(l -> l.wqkv() != null);
        qkv = fusedQkv ? new float[n * (qDim + 2 * kvDim)] : null;
        att = new float[n * qDim];
        proj = new float[n * dim];
        boolean fusedGateUp = c.arch().fusedGateUp();
        gate = new float[n * (fusedGateUp ? 2 * ffn : ffn)];
        up = fusedGateUp ? null : new float[n * ffn];
        hid = new float[n * ffn];
        cos = new float[n * ropeHalf];
        sin = new float[n * ropeHalf];
    }

    long bytes() {
        long floats = (long) rows * (2L * dim + 2L * qDim + 2L * kvDim + dim + 3L * ffn + 2L * ropeHalf)
                + (qkv == null ? 0 : qkv.length) + lastLogits.length
                + (batchLogits == null ? 0 : batchLogits.length) + (long) scores.length * scores[0].length;
        return floats * Float.BYTES;
    }

    float[] run(int[] tokens, boolean allLogits) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("forward needs at least one token");
        if (state.position + n > cache.capacity()) {
            throw new IllegalStateException("context full: position " + state.position + " + " + n
                    + " tokens exceeds the state capacity " + cache.capacity());
        }
        for (int i = 0; i < n; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("token id " + tokens[i] + " at index " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (!cache.reserve(state.position + n)) {
            throw new IllegalStateException("KV cache out of memory: cannot reserve blocks for positions up to "
                    + (state.position + n) + " (the block pool is exhausted)");
        }
        float[] result = allLogits ? new float[n * vocab] : lastLogits;
        int chunk = Math.min(MAX_BATCH, cache.maxChunk());
        for (int s = 0; s < n; s += chunk) {
            int b = Math.min(chunk, n - s);
            ensureRows(b);
            if (attending != null) attending.beginChunk(state.position, b);
            blocks(tokens, s, b);
            if (attending != null) attending.endChunk();
            if (allLogits) {
                if (b == n) {
                    logits(0, b, result);
                } else {
                    if (batchLogits == null || batchLogits.length < b * vocab) batchLogits = new float[b * vocab];
                    logits(0, b, batchLogits);
                    System.arraycopy(batchLogits, 0, result, s * vocab, b * vocab);
                }
            } else if (s + b == n) {
                logits(b - 1, 1, result);
            }
        }
        return result;
    }

    /** Final norm and LM head for rows [from, from+count) of the residual stream into out[0 ..]. */
    private void logits(int from, int count, float[] out) {
        for (int r = 0; r < count; r++) {
            Ops.rmsnorm(xn, r * dim, x, (from + r) * dim, w.outputNorm(), dim, c.normEps());
        }
        linear(w.output(), xn, count, out);
        if (c.finalSoftcap() > 0) Ops.softcap(out, 0, count * vocab, c.finalSoftcap());
    }

    private void linear(QMatrix m, float[] in, int batch, float[] out) {
        if (batch == 1) m.matvec(in, out, pool);
        else m.matmul(in, batch, out, pool);
    }

    /** Runs tokens[off .. off+B) through all blocks; afterwards x holds their residual stream. */
    private void blocks(int[] tokens, int off, int B) {
        int pos0 = state.position;
        float eps = c.normEps();
        for (int b = 0; b < B; b++) {
            w.tokenEmbedding().row(tokens[off + b], x, b * dim);
            if (c.embedScale() != 1f) Ops.scale(x, b * dim, dim, c.embedScale());
            int p = pos0 + b;
            for (int i = 0; i < ropeHalf; i++) {
                double angle = p * invFreq[i];
                cos[b * ropeHalf + i] = (float) Math.cos(angle) * ropeScale;
                sin[b * ropeHalf + i] = (float) Math.sin(angle) * ropeScale;
            }
        }
        for (int l = 0; l < c.layers(); l++) {
            TransformerWeights.Layer L = w.layers()[l];
            // ---- attention
            for (int b = 0; b < B; b++) Ops.rmsnorm(xn, b * dim, x, b * dim, L.attnNorm(), dim, eps);
            if (L.wqkv() != null) {
                int width = qDim + 2 * kvDim;
                linear(L.wqkv(), xn, B, qkv);
                for (int b = 0; b < B; b++) {
                    System.arraycopy(qkv, b * width, q, b * qDim, qDim);
                    System.arraycopy(qkv, b * width + qDim, k, b * kvDim, kvDim);
                    System.arraycopy(qkv, b * width + qDim + kvDim, v, b * kvDim, kvDim);
                }
            } else {
                linear(L.wq(), xn, B, q);
                linear(L.wk(), xn, B, k);
                linear(L.wv(), xn, B, v);
            }
            for (int b = 0; b < B; b++) {
                if (L.bq() != null) {
                    Ops.addBias(q, b * qDim, L.bq(), qDim);
                    Ops.addBias(k, b * kvDim, L.bk(), kvDim);
                    Ops.addBias(v, b * kvDim, L.bv(), kvDim);
                }
                if (L.qNorm() != null) {
                    for (int h = 0; h < c.heads(); h++) {
                        int o = b * qDim + h * headDim;
                        Ops.rmsnorm(q, o, q, o, L.qNorm(), headDim, eps);
                    }
                    for (int h = 0; h < c.kvHeads(); h++) {
                        int o = b * kvDim + h * headDim;
                        Ops.rmsnorm(k, o, k, o, L.kNorm(), headDim, eps);
                    }
                }
                rope(q, b * qDim, c.heads(), b);
                rope(k, b * kvDim, c.kvHeads(), b);
                cache.write(l, pos0 + b, k, b * kvDim, v, b * kvDim);
            }
            curLayer = l;
            curBatch = B;
            curPos0 = pos0;
            attention(l, B, pos0);
            linear(L.wo(), att, B, proj);
            if (L.postAttnNorm() != null) {
                for (int b = 0; b < B; b++) Ops.rmsnorm(proj, b * dim, proj, b * dim, L.postAttnNorm(), dim, eps);
            }
            Ops.addInPlace(x, proj, B * dim);

            // ---- feed-forward
            for (int b = 0; b < B; b++) Ops.rmsnorm(xn, b * dim, x, b * dim, L.ffnNorm(), dim, eps);
            fusedGateUp = L.wGate() == null;
            if (fusedGateUp) { // ffn_up holds [gate; up]
                linear(L.wUp(), xn, B, gate);
            } else {
                linear(L.wGate(), xn, B, gate);
                linear(L.wUp(), xn, B, up);
            }
            if (B == 1) activationRows(0, 1, 0);
            else pool.parallelFor(B, activationBody);
            linear(L.wDown(), hid, B, proj);
            if (L.postFfnNorm() != null) {
                for (int b = 0; b < B; b++) Ops.rmsnorm(proj, b * dim, proj, b * dim, L.postFfnNorm(), dim, eps);
            }
            Ops.addInPlace(x, proj, B * dim);
        }
        state.position = pos0 + B;
    }

    /** hid = act(gate) * up for batch rows [from, to). */
    private void activationRows(int from, int to, int thread) {
        boolean gelu = c.arch().activation() == ArchSpec.Activation.GELU_TANH;
        for (int b = from; b < to; b++) {
            int g = fusedGateUp ? 2 * b * ffn : b * ffn;
            float[] u = fusedGateUp ? gate : up;
            int uOff = fusedGateUp ? g + ffn : b * ffn;
            if (gelu) Ops.geluMul(hid, b * ffn, gate, g, u, uOff, ffn);
            else Ops.siluMul(hid, b * ffn, gate, g, u, uOff, ffn);
        }
    }

    /** Rotates the first ropeDim dimensions of each of {@code heads} heads of row {@code off} for batch row b. */
    private void rope(float[] buf, int off, int heads, int b) {
        int half = ropeHalf, co = b * half;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            if (ropeMode == ArchSpec.RopeMode.NORMAL) {
                for (int i = 0; i < half; i++) {
                    float x0 = buf[base + 2 * i], x1 = buf[base + 2 * i + 1];
                    float cs = cos[co + i], sn = sin[co + i];
                    buf[base + 2 * i] = x0 * cs - x1 * sn;
                    buf[base + 2 * i + 1] = x0 * sn + x1 * cs;
                }
            } else {
                for (int i = 0; i < half; i++) {
                    float x0 = buf[base + i], x1 = buf[base + i + half];
                    float cs = cos[co + i], sn = sin[co + i];
                    buf[base + i] = x0 * cs - x1 * sn;
                    buf[base + i + half] = x0 * sn + x1 * cs;
                }
            }
        }
    }

    /**
     * Attention of the B rows of layer l into att. Caches that attend themselves get one work item per query head
     * (all rows of a head on one thread, in order). One decoded token whose heads cannot keep the threads evenly
     * busy is split along the context (split-K, merged exactly); otherwise items are (head, row) pairs.
     */
    private void attention(int l, int B, int pos0) {
        if (attending != null) {
            pool.parallelFor(c.heads(), attendingBody);
            return;
        }
        if (B == 1 && cache.elementType() != GGMLType.F16) {
            int window = c.window(l);
            int start = Math.max(cache.firstRetained(l), window > 0 ? Math.max(0, pos0 - window + 1) : 0);
            int splits = SplitKAttention.splits(c.heads(), pool.threads(), pos0 + 1 - start);
            if (splits > 1) {
                curSplits = splits;
                splitK.reserve(c.heads() * splits);
                pool.parallelFor(c.heads() * splits, splitBody);
                for (int h = 0; h < c.heads(); h++) splitK.merge(h * splits, splits, att, h * headDim);
                return;
            }
        }
        pool.parallelFor(c.heads() * B, attentionBody);
    }

    /** Policy caches: query heads [from, to), every row of the chunk. */
    private void attendingRange(int from, int to, int thread) {
        int layer = curLayer, B = curBatch;
        for (int h = from; h < to; h++) {
            for (int b = 0; b < B; b++) {
                int qOff = b * qDim + h * headDim;
                attending.attend(layer, h, q, qOff, curPos0 + b, att, qOff, thread);
            }
        }
    }

    /** Split-K partial attention for items [from, to) of heads x splits (item = head * splits + split), one row. */
    private void splitRange(int from, int to, int thread) {
        float[] sc = scores[thread];
        int layer = curLayer, S = curSplits, pos = curPos0;
        int group = c.heads() / c.kvHeads();
        int window = c.window(layer);
        int start = Math.max(cache.firstRetained(layer), window > 0 ? Math.max(0, pos - window + 1) : 0);
        for (int item = from; item < to; item++) {
            int h = item / S, sp = item % S;
            int a = SplitKAttention.splitStart(start, pos + 1, sp, S), e = SplitKAttention.splitStart(start, pos + 1, sp + 1, S);
            splitK.partial(item, cache, layer, h / group, q, h * headDim, a, e, c.queryScale(), c.attnSoftcap(), sc);
        }
    }

    /** Attention for work items [from, to) of heads x batch (item = head * batch + row), causal over the cache. */
    private void attentionRange(int from, int to, int thread) {
        float[] sc = scores[thread];
        float[] qh = queryScratch[thread];
        boolean half = cache.elementType() == GGMLType.F16;
        int layer = curLayer, B = curBatch;
        int group = c.heads() / c.kvHeads();
        int window = c.window(layer);
        float scale = c.queryScale(), cap = c.attnSoftcap();
        int retained = cache.firstRetained(layer);
        for (int item = from; item < to; item++) {
            int h = item / B, b = item % B;
            int kvh = h / group;
            int pos = curPos0 + b;
            int start = Math.max(retained, window > 0 ? Math.max(0, pos - window + 1) : 0);
            int n = pos + 1 - start;
            int qOff = b * qDim + h * headDim;
            if (half) { // products with an F16 cache take F16 operands (as in ggml)
                for (int i = 0; i < headDim; i++) qh[i] = Float.float16ToFloat(Float.floatToFloat16(q[qOff + i]));
                cache.scores(layer, kvh, qh, 0, start, pos + 1, sc, 0);
            } else {
                cache.scores(layer, kvh, q, qOff, start, pos + 1, sc, 0);
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                float s = sc[j] * scale;
                if (cap > 0) s = cap * (float) Math.tanh(s / cap);
                sc[j] = s;
                if (s > max) max = s;
            }
            float sum = 0;
            for (int j = 0; j < n; j++) {
                float e = (float) Math.exp(sc[j] - max);
                sc[j] = e;
                sum += e;
            }
            float inv = 1f / sum;
            if (half) {
                for (int j = 0; j < n; j++) sc[j] = Float.float16ToFloat(Float.floatToFloat16(sc[j] * inv));
            } else {
                for (int j = 0; j < n; j++) sc[j] *= inv;
            }
            Arrays.fill(att, qOff, qOff + headDim, 0f);
            cache.accumulate(layer, kvh, sc, 0, start, pos + 1, att, qOff);
        }
    }
}
