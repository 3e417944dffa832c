package io.jlm.models.transformer;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;
import io.jlm.models.BatchEntry;
import io.jlm.models.ops.Ops;
import io.jlm.models.state.AttendingKvCache;
import io.jlm.models.state.AttentionGeometry;
import io.jlm.models.state.AttentionKernels;
import io.jlm.models.state.KvCache;
import io.jlm.models.state.SplitKAttention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The forward computation of a {@link TransformerModel} and its scratch buffers (a workspace). Activations of a batch
 * are stored row-major, one row of {@code width} floats per token; the rows of one step may belong to different
 * sequences: each row carries its own KV cache, absolute position and RoPE frequencies, so every matrix product
 * serves all rows with one pass over the weights while attention stays per sequence (a packed prefill of several
 * prompts is a block-diagonal causal mask with restarted positions).
 *
 * <p>Every {@link TransformerState} owns one instance for {@link TransformerModel#forward} (buffers grown on demand,
 * then reused, so decoding one token allocates nothing); the model owns one more for
 * {@link TransformerModel#forwardBatch}. An instance serves one call at a time.
 */
final class ForwardPass {
    /** Prompt tokens are processed in chunks of at most this many rows (bounds scratch memory). */
    static final int MAX_BATCH = 512;

    private final TransformerModel model;
    private final TransformerConfig c;
    private final TransformerWeights w;
    private final ThreadPool pool;
    private final ArchSpec.RopeMode ropeMode;
    private final int dim, qDim, kvDim, headDim, ffn, vocab, ropeHalf;
    private final float ropeScale;

    // scratch, sized for `rows` tokens
    private int rows;
    private float[] x, xn, q, k, v, qkv, att, proj, gate, up, hid, cos, sin;
    private float[] lastLogits;
    private float[] batchLogits;
    private float[][] scores;
    private final float[][] queryScratch;

    // per row of the current step: the sequence's cache, the absolute position, the RoPE frequencies, the token
    private KvCache[] rowCache;
    private int[] rowPos;
    private double[][] rowFreq;
    private int[] rowToken;
    // rows of the current step whose logits are wanted, and where they go
    private int[] outRow;
    private float[][] outArray;
    private int[] outOffset;

    // arguments of the parallel bodies (set before each parallelFor)
    private int curLayer, curBatch;
    private boolean fusedGateUp;
    private boolean matmulOnly;
    private final ThreadPool.RangeBody attentionBody = this::attentionRange;
    private final ThreadPool.RangeBody attendingBody = this::attendingRange;
    /** Split-K decode attention (context of one query split across threads) and its split count per head. */
    private final SplitKAttention splitK;
    private int curSplits;
    private final ThreadPool.RangeBody splitBody = this::splitRange;
    private final ThreadPool.RangeBody groupedBody = this::groupedRange;
    /** Query heads per KV head. */
    private final int group;
    /** Positions per chunk of the grouped decode attention (the chunk's keys/values stay in L2 for the group). */
    static final int GROUP_CHUNK = 256;
    private final ThreadPool.RangeBody activationBody = this::activationRows;

    /** A workspace whose attention scratch covers {@code scoreCapacity} positions (grown on demand). */
    ForwardPass(TransformerModel model, int scoreCapacity) {
        this.model = model;
        this.c = model.transformerConfig();
        this.w = model.weights();
        this.pool = model.pool();
        this.ropeMode = c.arch().rope();
        this.dim = c.dim();
        this.qDim = c.qDim();
        this.kvDim = c.kvDim();
        this.headDim = c.headDim();
        this.ffn = c.ffnDim();
        this.vocab = c.vocabSize();
        this.ropeHalf = c.ropeDim() / 2;
        this.ropeScale = w.ropeAttnFactor();
        this.group = c.heads() / Math.max(1, c.kvHeads());
        this.scores = new float[pool.threads()][Math.max(1, group * scoreCapacity)];
        this.queryScratch = new float[pool.threads()][group * headDim];
        this.splitK = new SplitKAttention(headDim);
        ensureRows(1);
    }

    /**
     * RoPE angle per position unit for each rotated pair, for a sequence of up to {@code capacity} positions
     * (Phi-3 longrope picks its long factors when the capacity exceeds the original training context).
     */
    static double[] ropeFrequencies(TransformerConfig c, TransformerWeights w, int capacity) {
        int half = c.ropeDim() / 2;
        float[] factors = w.ropeFreqFactors();
        if (factors == null && (w.ropeFactorsShort() != null || w.ropeFactorsLong() != null)) {
            boolean useLong = capacity > w.ropeOriginalContext() && w.ropeFactorsLong() != null;
            factors = useLong || w.ropeFactorsShort() == null ? w.ropeFactorsLong() : w.ropeFactorsShort();
        }
        double[] invFreq = new double[half];
        for (int i = 0; i < half; i++) {
            double f = c.ropeFreqScale() * Math.pow(c.ropeBase(), -2.0 * i / c.ropeDim());
            if (factors != null) f /= factors[i];
            invFreq[i] = f;
        }
        return invFreq;
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
        rowCache = new KvCache[n];
        rowPos = new int[n];
        rowFreq = new double[n][];
        rowToken = new int[n];
        outRow = new int[n];
        outArray = new float[n][];
        outOffset = new int[n];
    }

    /**
     * The attention geometry handed to a cache that computes attention itself ({@link AttendingKvCache}), for a
     * sequence with RoPE frequencies {@code invFreq}.
     */
    static AttentionGeometry geometry(TransformerModel model, double[] invFreq) {
        TransformerConfig c = model.transformerConfig();
        int[] windows = new int[c.layers()];
        for (int l = 0; l < c.layers(); l++) windows[l] = c.window(l);
        return new AttentionGeometry(c.heads(), c.kvHeads(), c.headDim(), c.queryScale(), c.attnSoftcap(), windows,
                model.pool().threads(), new AttentionGeometry.Rope(c.ropeDim(), invFreq.clone(),
                c.arch().rope() == ArchSpec.RopeMode.NEOX));
    }

    /** Score scratch (per thread) the attention of {@code cache} needs; caches that attend themselves bring their own. */
    static int scoreNeed(KvCache cache) {
        return cache instanceof AttendingKvCache ? 1 : Math.min(cache.capacity(), cache.maxAttended());
    }

    /** Per-thread score scratch for {@code capacity} positions of each query head of a GQA group. */
    private void ensureScores(int capacity) {
        int need = group * capacity;
        if (need <= scores[0].length) return;
        for (int t = 0; t < scores.length; t++) scores[t] = new float[need];
    }

    long bytes() {
        long floats = (long) rows * (2L * dim + 2L * qDim + 2L * kvDim + dim + 3L * ffn + 2L * ropeHalf)
                + (qkv == null ? 0 : qkv.length) + (lastLogits == null ? 0 : lastLogits.length)
                + (batchLogits == null ? 0 : batchLogits.length) + (long) scores.length * scores[0].length;
        return floats * Float.BYTES;
    }

    /** One sequence: see {@link TransformerModel#forward}. */
    float[] run(TransformerState state, int[] tokens, boolean allLogits) {
        int n = tokens.length;
        KvCache cache = state.cache();
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
        matmulOnly = model.batchInvariant();
        ensureScores(scoreNeed(cache));
        if (lastLogits == null) lastLogits = new float[vocab];
        float[] result = allLogits ? new float[n * vocab] : lastLogits;
        int pos0 = state.position;
        double[] freq = state.ropeFrequencies();
        AttendingKvCache attending = cache instanceof AttendingKvCache a ? a : null;
        int chunk = Math.min(MAX_BATCH, cache.maxChunk());
        for (int s = 0; s < n; s += chunk) {
            int b = Math.min(chunk, n - s);
            ensureRows(b);
            for (int r = 0; r < b; r++) {
                rowCache[r] = cache;
                rowPos[r] = pos0 + s + r;
                rowFreq[r] = freq;
                rowToken[r] = tokens[s + r];
            }
            if (attending != null) attending.beginChunk(pos0 + s, b);
            blocks(b);
            if (attending != null) attending.endChunk();
            if (embedding != null) {
                poolHidden(b, s + b == n, n);
            } else if (allLogits) {
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
            state.position = pos0 + s + b;
        }
        return result;
    }

    /**
     * Several sequences in one step: see {@link TransformerModel#forwardBatch}. The entries are validated by the
     * caller (ownership, vocabulary, capacity); this reserves KV memory for all of them before any state changes.
     */
    List<float[]> runBatch(List<BatchEntry> entries) {
        if (entries.stream().anyMatch(e -> ((TransformerState) e.state()).cache() instanceof AttendingKvCache)) {
            // policy caches attend per sequence (chunk hooks, bounded chunks): run those entries one by one
            List<BatchEntry> plain = new ArrayList<>();
            for (BatchEntry e : entries) {
                if (!(((TransformerState) e.state()).cache() instanceof AttendingKvCache)) plain.add(e);
            }
            List<float[]> batched = plain.isEmpty() ? List.of() : runBatch(plain);
            List<float[]> results = new ArrayList<>(entries.size());
            int next = 0;
            for (BatchEntry e : entries) {
                TransformerState st = (TransformerState) e.state();
                if (st.cache() instanceof AttendingKvCache) {
                    float[] r = run(st, e.tokens(), e.allLogits());
                    results.add(e.allLogits() ? r : r.clone());
                } else {
                    results.add(batched.get(next++));
                }
            }
            return results;
        }
        int total = 0, maxCapacity = 1;
        for (int i = 0; i < entries.size(); i++) {
            BatchEntry e = entries.get(i);
            TransformerState st = (TransformerState) e.state();
            KvCache cache = st.cache();
            if (!cache.reserve(st.position + e.tokens().length)) {
                throw new IllegalStateException("batch entry " + i + ": KV cache out of memory: cannot reserve "
                        + "blocks for positions up to " + (st.position + e.tokens().length)
                        + " (the block pool is exhausted)");
            }
            total += e.tokens().length;
            maxCapacity = Math.max(maxCapacity, cache.capacity());
        }
        matmulOnly = model.batchInvariant();
        ensureScores(maxCapacity);
        List<float[]> results = new ArrayList<>(entries.size());
        for (BatchEntry e : entries) results.add(new float[e.allLogits() ? e.tokens().length * vocab : vocab]);
        int[] start = new int[entries.size()];
        for (int i = 0; i < entries.size(); i++) start[i] = entries.get(i).state().position();

        int entry = 0, tok = 0; // cursor: next row is token `tok` of entry `entry`
        for (int done = 0; done < total; ) {
            int b = Math.min(MAX_BATCH, total - done);
            ensureRows(b);
            int wanted = 0;
            for (int r = 0; r < b; r++) {
                BatchEntry e = entries.get(entry);
                TransformerState st = (TransformerState) e.state();
                rowCache[r] = st.cache();
                rowPos[r] = start[entry] + tok;
                rowFreq[r] = st.ropeFrequencies();
                rowToken[r] = e.tokens()[tok];
                boolean last = tok == e.tokens().length - 1;
                if (e.allLogits() || last) {
                    outRow[wanted] = r;
                    outArray[wanted] = results.get(entry);
                    outOffset[wanted] = e.allLogits() ? tok * vocab : 0;
                    wanted++;
                }
                if (last) {
                    entry++;
                    tok = 0;
                } else {
                    tok++;
                }
            }
            blocks(b);
            gatheredLogits(wanted);
            done += b;
        }
        for (int i = 0; i < entries.size(); i++) {
            ((TransformerState) entries.get(i).state()).position = start[i] + entries.get(i).tokens().length;
        }
        Arrays.fill(rowCache, null);
        Arrays.fill(outArray, null);
        return results;
    }

    /**
     * Final-norm hidden states of {@code tokens} appended to {@code state} (the LM head is skipped): their mean
     * ({@code mean}) or the last token's, {@code dim} floats.
     */
    float[] embed(TransformerState state, int[] tokens, boolean mean) {
        embedding = new float[dim];
        embedMean = mean;
        try {
            run(state, tokens, false);
            return embedding;
        } finally {
            embedding = null;
        }
    }

    /** Adds rows [0, b) of the residual stream, final-normed, to the embedding (mean) or keeps the last row. */
    private void poolHidden(int b, boolean lastChunk, int total) {
        float[] e = embedding;
        for (int r = embedMean ? 0 : (lastChunk ? b - 1 : b); r < b; r++) {
            Ops.rmsnorm(xn, 0, x, r * dim, w.outputNorm(), dim, c.normEps());
            if (embedMean) {
                for (int i = 0; i < dim; i++) e[i] += xn[i] / total;
            } else {
                System.arraycopy(xn, 0, e, 0, dim);
            }
        }
    }

    /** Logits of rows outRow[0 .. count) of the residual stream, copied to outArray[i] at outOffset[i]. */
    private void gatheredLogits(int count) {
        if (count == 0) return;
        for (int i = 0; i < count; i++) Ops.rmsnorm(xn, i * dim, x, outRow[i] * dim, w.outputNorm(), dim, c.normEps());
        if (batchLogits == null || batchLogits.length < count * vocab) batchLogits = new float[count * vocab];
        linear(w.output(), xn, count, batchLogits);
        if (c.finalSoftcap() > 0) Ops.softcap(batchLogits, 0, count * vocab, c.finalSoftcap());
        for (int i = 0; i < count; i++) System.arraycopy(batchLogits, i * vocab, outArray[i], outOffset[i], vocab);
    }

    /** Final norm and LM head for rows [from, from+count) of the residual stream into out[0 ..]. */
    private void logits(int from, int count, float[] out) {
        for (int r = 0; r < count; r++) {
            Ops.rmsnorm(xn, r * dim, x, (from + r) * dim, w.outputNorm(), dim, c.normEps());
        }
        linear(w.output(), xn, count, out);
        if (c.finalSoftcap() > 0) Ops.softcap(out, 0, count * vocab, c.finalSoftcap());
    }

    private float[] embedding; // non-null while embed() runs
    private boolean embedMean;

    private void linear(QMatrix m, float[] in, int batch, float[] out) {
        if (batch == 1 && !matmulOnly) m.matvec(in, out, pool);
        else m.matmul(in, batch, out, pool);
    }

    /**
     * Runs rows [0, B) (token rowToken[b] of the sequence with cache rowCache[b] at position rowPos[b]) through all
     * blocks, writing their keys and values; afterwards x holds their residual stream.
     */
    private void blocks(int B) {
        float eps = c.normEps();
        for (int b = 0; b < B; b++) {
            w.tokenEmbedding().row(rowToken[b], x, b * dim);
            if (c.embedScale() != 1f) Ops.scale(x, b * dim, dim, c.embedScale());
            int p = rowPos[b];
            double[] invFreq = rowFreq[b];
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
                rowCache[b].write(l, rowPos[b], k, b * kvDim, v, b * kvDim);
            }
            curLayer = l;
            curBatch = B;
            attention(l, B);
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
     * Attention of the B rows of layer l into att. A cache that attends itself (rows of one sequence) gets one work
     * item per query head, all rows of a head on one thread in order. One decoded token whose heads cannot keep the
     * threads evenly busy is split along the context (split-K, merged exactly; not for F16 caches, whose rounding of
     * the softmax weights follows ggml's single pass). Otherwise items are (head, row) pairs.
     */
    private void attention(int l, int B) {
        KvCache first = rowCache[0];
        if (first instanceof AttendingKvCache) {
            pool.parallelFor(c.heads(), attendingBody);
            return;
        }
        if (B == 1 && first.elementType() != GGMLType.F16) {
            int pos = rowPos[0];
            int start = attendFrom(first, l, pos);
            int splits = SplitKAttention.splits(c.heads(), pool.threads(), pos + 1 - start);
            if (splits > 1) {
                curSplits = splits;
                splitK.reserve(c.heads() * splits);
                splitK.resetClaims();
                pool.parallelFor(pool.threads(), splitBody); // each thread claims pieces until none is left
                for (int h = 0; h < c.heads(); h++) splitK.merge(h * splits, splits, att, h * headDim);
                return;
            }
        }
        if (B == 1 && group > 1 && c.kvHeads() % pool.threads() == 0) {
            pool.parallelFor(c.kvHeads(), groupedBody);
            return;
        }
        pool.parallelFor(c.heads() * B, attentionBody);
    }

    /**
     * Decode attention of one row by KV head: the query heads of a GQA group take turns on each chunk of
     * {@link #GROUP_CHUNK} positions, so every key and value is read from memory once per group instead of once
     * per query head (the same products as {@link #attentionRange}, in the same order per head).
     */
    private void groupedRange(int from, int to, int thread) {
        float[] sc = scores[thread];
        float[] qh = queryScratch[thread];
        int layer = curLayer;
        float scale = c.queryScale(), cap = c.attnSoftcap();
        KvCache cache = rowCache[0];
        boolean half = cache.elementType() == GGMLType.F16;
        int pos = rowPos[0];
        int start = attendFrom(cache, layer, pos);
        int n = pos + 1 - start;
        for (int kvh = from; kvh < to; kvh++) {
            int h0 = kvh * group;
            if (half) { // products with an F16 cache take F16 operands (as in ggml)
                for (int i = 0; i < group * headDim; i++) qh[i] = Float.float16ToFloat(Float.floatToFloat16(q[h0 * headDim + i]));
            }
            float[] qs = half ? qh : q;
            int qBase = half ? 0 : h0 * headDim;
            for (int c0 = start; c0 <= pos; c0 += GROUP_CHUNK) {
                int c1 = Math.min(pos + 1, c0 + GROUP_CHUNK);
                for (int g = 0; g < group; g++) cache.scores(layer, kvh, qs, qBase + g * headDim, c0, c1, sc, g * n + c0 - start);
            }
            for (int g = 0; g < group; g++) {
                AttentionKernels.softmax(sc, g * n, n, scale, cap);
                if (half) {
                    for (int j = g * n; j < (g + 1) * n; j++) sc[j] = Float.float16ToFloat(Float.floatToFloat16(sc[j]));
                }
                Arrays.fill(att, (h0 + g) * headDim, (h0 + g + 1) * headDim, 0f);
            }
            for (int c0 = start; c0 <= pos; c0 += GROUP_CHUNK) {
                int c1 = Math.min(pos + 1, c0 + GROUP_CHUNK);
                for (int g = 0; g < group; g++) {
                    cache.accumulate(layer, kvh, sc, g * n + c0 - start, c0, c1, att, (h0 + g) * headDim);
                }
            }
        }
    }

    /**
     * The first position a query at {@code pos} of {@code layer} attends: the earliest one the cache still holds, or
     * the start of the layer's sliding window.
     */
    private int attendFrom(KvCache cache, int layer, int pos) {
        int window = c.window(layer);
        return Math.max(cache.firstRetained(layer), window > 0 ? Math.max(0, pos - window + 1) : 0);
    }

    /** A cache that attends itself (all rows of the step belong to its sequence): query heads [from, to). */
    private void attendingRange(int from, int to, int thread) {
        int layer = curLayer, B = curBatch;
        AttendingKvCache cache = (AttendingKvCache) rowCache[0];
        for (int h = from; h < to; h++) {
            for (int b = 0; b < B; b++) {
                int qOff = b * qDim + h * headDim;
                cache.attend(layer, h, q, qOff, rowPos[b], att, qOff, thread);
            }
        }
    }

    /** Split-K partial attention of the one row: claims items of heads x splits (item = head * splits + split). */
    private void splitRange(int unusedFrom, int unusedTo, int thread) {
        float[] sc = scores[thread];
        int layer = curLayer, S = curSplits, pos = rowPos[0];
        KvCache cache = rowCache[0];
        int start = attendFrom(cache, layer, pos);
        int items = c.heads() * S;
        for (int item = splitK.claim(); item < items; item = splitK.claim()) {
            int h = item / S, sp = item % S;
            int a = SplitKAttention.splitStart(start, pos + 1, sp, S), e = SplitKAttention.splitStart(start, pos + 1, sp + 1, S);
            splitK.partial(item, cache, layer, h / group, q, h * headDim, a, e, c.queryScale(), c.attnSoftcap(), sc);
        }
    }

    /**
     * Attention for work items [from, to) of heads x batch (item = head * batch + row), causal over the row's own
     * sequence cache.
     */
    private void attentionRange(int from, int to, int thread) {
        float[] sc = scores[thread];
        float[] qh = queryScratch[thread];
        int layer = curLayer, B = curBatch;
        float scale = c.queryScale(), cap = c.attnSoftcap();
        for (int item = from; item < to; item++) {
            int h = item / B, b = item % B;
            int kvh = h / group;
            KvCache cache = rowCache[b];
            boolean half = cache.elementType() == GGMLType.F16;
            int pos = rowPos[b];
            int start = attendFrom(cache, layer, pos);
            int n = pos + 1 - start;
            int qOff = b * qDim + h * headDim;
            if (half) { // products with an F16 cache take F16 operands (as in ggml)
                for (int i = 0; i < headDim; i++) qh[i] = Float.float16ToFloat(Float.floatToFloat16(q[qOff + i]));
                cache.scores(layer, kvh, qh, 0, start, pos + 1, sc, 0);
            } else {
                cache.scores(layer, kvh, q, qOff, start, pos + 1, sc, 0);
            }
            AttentionKernels.softmax(sc, n, scale, cap);
            if (half) {
                for (int j = 0; j < n; j++) sc[j] = Float.float16ToFloat(Float.floatToFloat16(sc[j]));
            }
            Arrays.fill(att, qOff, qOff + headDim, 0f);
            cache.accumulate(layer, kvh, sc, 0, start, pos + 1, att, qOff);
        }
    }
}
