package io.jlm.models.state;

import io.jlm.core.quant.VectorMath;
import io.jlm.core.tensor.GGMLType;

import java.util.Arrays;

/**
 * ThinK: prunes key channels per (layer, KV head) by query-weighted magnitude. Channel {@code c} of a KV head scores
 * {@code ||Q[:, c]|| * ||K[:, c]||}, with Q the last {@code observe} queries of the first forward chunk (the prompt,
 * or its first chunk) of all query heads sharing the KV head, and K all keys held then. At the end of that chunk the
 * {@code round((1 - ratio) * headDim)} best channels are kept and the others dropped from every stored key; keys
 * written later are stored pruned to the same channels (the selection is fixed). A query's dot product runs over the
 * kept channels only. Values are not pruned, so the bytes held fall by about {@code ratio / 2}.
 *
 * <p>All positions are retained (contiguous); storage grows with the sequence (doubling), so bytes reflect what a
 * sequence actually holds.
 */
public final class ThinKKvCache implements AttendingKvCache {
    private final int layers, capacity, kvHeads, headDim, keep, observe;
    private final float ratio;
    private final float[][][] keys, values;  // [layer][kvHead][position * width]
    private final int[][][] kept;            // [layer][kvHead] -> channels, null before selection
    private float[][][] qSquares;            // [layer][head][channel]
    private AttentionGeometry g;
    private float[][] scratch, gathered;
    private int allocated, length, chunkEnd;
    private boolean selected;

    /**
     * @param ratio   fraction of key channels to prune, in [0, 1)
     * @param observe queries (newest of the first chunk) that weight the channel magnitudes
     */
    public ThinKKvCache(int layers, int capacity, int kvHeads, int headDim, float ratio, int observe) {
        if (layers < 1 || capacity < 1 || kvHeads < 1 || headDim < 1 || observe < 1) {
            throw new IllegalArgumentException("bad ThinK cache: layers=" + layers + " capacity=" + capacity
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " observe=" + observe);
        }
        if (!(ratio >= 0 && ratio < 1)) throw new IllegalArgumentException("ThinK pruning ratio must be in [0, 1), got " + ratio);
        this.layers = layers;
        this.capacity = capacity;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.ratio = ratio;
        this.observe = observe;
        this.keep = Math.max(1, Math.round((1 - ratio) * headDim));
        this.keys = new float[layers][kvHeads][0];
        this.values = new float[layers][kvHeads][0];
        this.kept = new int[layers][kvHeads][];
    }

    @Override
    public void configure(AttentionGeometry geometry) {
        if (geometry.kvHeads() != kvHeads || geometry.headDim() != headDim) {
            throw new IllegalArgumentException("attention geometry " + geometry.kvHeads() + "x" + geometry.headDim()
                    + " does not match the cache " + kvHeads + "x" + headDim);
        }
        this.g = geometry;
        this.scratch = new float[geometry.threads()][0];
        this.gathered = new float[geometry.threads()][headDim];
        this.qSquares = new float[layers][geometry.heads()][headDim];
    }

    @Override public GGMLType elementType() { return GGMLType.F32; }
    @Override public int layers() { return layers; }
    @Override public int capacity() { return capacity; }
    @Override public int kvHeads(int layer) { return kvHeads; }
    @Override public int headDim(int layer) { return headDim; }
    @Override public int length() { return length; }

    /** Key channels kept per head after selection. */
    public int keptChannels() { return keep; }

    /** The kept channels of (layer, kvHead), ascending, or null before the selection. */
    public int[] keptChannels(int layer, int kvHead) {
        return kept[layer][kvHead] == null ? null : kept[layer][kvHead].clone();
    }

    private int keyWidth() { return selected ? keep : headDim; }

    private void ensure(int positions) {
        if (positions <= allocated) return;
        int n = Math.min(capacity, Math.max(positions, Math.max(256, allocated * 2)));
        int kw = keyWidth();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                keys[l][h] = Arrays.copyOf(keys[l][h], n * kw);
                values[l][h] = Arrays.copyOf(values[l][h], n * headDim);
            }
        }
        allocated = n;
    }

    @Override
    public void beginChunk(int from, int count) {
        chunkEnd = from + count;
        ensure(from + count);
        for (int t = 0; t < scratch.length; t++) {
            if (scratch[t].length < from + count) scratch[t] = new float[Math.min(capacity, Math.max(from + count, 2 * scratch[t].length))];
        }
    }

    @Override
    public void write(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the KV cache capacity " + capacity);
        }
        ensure(position + 1);
        int kw = keyWidth();
        for (int h = 0; h < kvHeads; h++) {
            float[] kl = keys[layer][h];
            if (selected) {
                int[] ch = kept[layer][h];
                int dst = position * kw, src = kOff + h * headDim;
                for (int i = 0; i < kw; i++) kl[dst + i] = k[src + ch[i]];
            } else {
                System.arraycopy(k, kOff + h * headDim, kl, position * headDim, headDim);
            }
            System.arraycopy(v, vOff + h * headDim, values[layer][h], position * headDim, headDim);
        }
        if (position >= length) length = position + 1;
    }

    @Override
    public void attend(int layer, int head, float[] q, int qOff, int position, float[] out, int outOff, int thread) {
        int kvh = head / g.group(), hd = headDim;
        float[] sc = scratch[thread];
        if (sc.length < position + 1) scratch[thread] = sc = new float[Math.min(capacity, Math.max(position + 1, 2 * sc.length))];
        float[] kl = keys[layer][kvh], vl = values[layer][kvh];
        int modelWindow = g.windows() == null ? 0 : g.windows()[layer];
        int start = modelWindow > 0 ? Math.max(0, position - modelWindow + 1) : 0;
        int n = position + 1 - start;
        if (selected) {
            int[] ch = kept[layer][kvh];
            float[] qg = gathered[thread];
            for (int i = 0; i < keep; i++) qg[i] = q[qOff + ch[i]];
            for (int p = start; p <= position; p++) sc[p - start] = VectorMath.dot(qg, 0, kl, p * keep, keep);
        } else {
            if (position >= chunkEnd - observe) {
                float[] qs = qSquares[layer][head];
                for (int i = 0; i < hd; i++) qs[i] += q[qOff + i] * q[qOff + i];
            }
            for (int p = start; p <= position; p++) sc[p - start] = VectorMath.dot(q, qOff, kl, p * hd, hd);
        }
        AttentionKernels.softmax(sc, n, g.queryScale(), g.softcap());
        Arrays.fill(out, outOff, outOff + hd, 0f);
        for (int p = start; p <= position; p++) AttentionKernels.axpy(out, outOff, sc[p - start], vl, p * hd, hd);
    }

    @Override
    public void endChunk() {
        if (selected) return;
        int group = g.group(), hd = headDim;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                double[] score = new double[hd];
                float[] kl = keys[l][h];
                for (int c = 0; c < hd; c++) {
                    double ks = 0, qs = 0;
                    for (int p = 0; p < length; p++) ks += (double) kl[p * hd + c] * kl[p * hd + c];
                    for (int qh = h * group; qh < (h + 1) * group; qh++) qs += qSquares[l][qh][c];
                    score[c] = Math.sqrt(qs) * Math.sqrt(ks);
                }
                Integer[] order = new Integer[hd];
                for (int c = 0; c < hd; c++) order[c] = c;
                Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(a, b));
                int[] ch = new int[keep];
                for (int i = 0; i < keep; i++) ch[i] = order[i];
                Arrays.sort(ch);
                kept[l][h] = ch;
                float[] pruned = new float[allocated * keep];
                for (int p = 0; p < length; p++) {
                    for (int i = 0; i < keep; i++) pruned[p * keep + i] = kl[p * hd + ch[i]];
                }
                keys[l][h] = pruned;
            }
        }
        selected = true;
    }

    @Override
    public void truncate(int length) {
        if (length < 0 || length > capacity) {
            throw new IllegalArgumentException("truncate length " + length + " outside [0, " + capacity + "]");
        }
        if (length < this.length) this.length = length;
    }

    @Override
    public long bytes() {
        long k = (long) layers * kvHeads * allocated * keyWidth(), v = (long) layers * kvHeads * allocated * headDim;
        return (k + v) * Float.BYTES;
    }

    @Override
    public String describe() { return "think:ratio=" + ratio; }
}
