package io.jlm.models.state;

import io.jlm.core.quant.VectorMath;
import io.jlm.core.tensor.GGMLType;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Score-based eviction under a fixed budget: per layer and KV head at most {@code budget} positions are kept
 * between forward chunks; the {@code recent} newest are always kept, the rest by an importance score that the
 * attention itself updates (the softmax weights of every query are reported back to the cache in {@link #attend}):
 * <ul>
 *   <li>{@link Scoring#H2O} (Heavy-Hitter Oracle): score = attention weight accumulated over all queries.</li>
 *   <li>{@link Scoring#A2SF}: accumulated with a forgetting factor, {@code score = forget * score + weight} per query,
 *       so that old positions do not win merely by having been attended by more queries.</li>
 *   <li>{@link Scoring#KEYFORMER}: accumulates Gumbel-softmax regularised weights,
 *       {@code softmax((log w + gumbel noise) / tau)} (Keyformer's key-token score; noise from a seeded generator,
 *       so runs are reproducible).</li>
 * </ul>
 * The scores of the query heads sharing a KV head are summed when choosing what to evict. Retained positions are not
 * contiguous: slots are kept dense (an evicted slot is refilled by the last one) and each slot records its position;
 * a query never sees slots of later positions (needed inside a prefill chunk).
 */
public final class EvictingKvCache implements AttendingKvCache {

    /** How the importance of a position is accumulated. */
    public enum Scoring { H2O, A2SF, KEYFORMER }

    private final int layers, capacity, kvHeads, headDim, budget, recent, chunk, slots;
    private final Scoring scoring;
    private final float forget, tau;
    private final long seed;
    private final float[][][] keys, values;   // [layer][kvHead][slot * headDim]
    private final int[][][] pos;              // [layer][kvHead][slot]
    private final int[][] count;              // [layer][kvHead]
    private float[][][] score;                // [layer][head][slot]
    private SplittableRandom[][] noise;       // [layer][head]
    private AttentionGeometry g;
    private float[][] scratch, gumbel;
    private int length;
    private boolean evicted;
    private long evictions;

    /**
     * @param budget positions kept per layer and KV head between chunks
     * @param recent newest positions always kept ({@code < budget})
     * @param forget A2SF forgetting factor in (0, 1]
     * @param tau    Keyformer Gumbel-softmax temperature (> 0)
     */
    public EvictingKvCache(int layers, int capacity, int kvHeads, int headDim, int budget, int recent, Scoring scoring,
                           float forget, float tau, long seed, int maxChunk) {
        if (layers < 1 || capacity < 1 || kvHeads < 1 || headDim < 1 || budget < 1 || maxChunk < 1) {
            throw new IllegalArgumentException("bad eviction cache: layers=" + layers + " capacity=" + capacity
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " budget=" + budget + " maxChunk=" + maxChunk);
        }
        if (recent < 0 || recent >= budget) {
            throw new IllegalArgumentException("recent window " + recent + " must be in [0, budget " + budget + ")");
        }
        if (!(forget > 0 && forget <= 1)) throw new IllegalArgumentException("forgetting factor must be in (0, 1], got " + forget);
        if (!(tau > 0)) throw new IllegalArgumentException("Keyformer temperature must be > 0, got " + tau);
        this.layers = layers;
        this.capacity = capacity;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.budget = budget;
        this.recent = recent;
        this.scoring = scoring;
        this.forget = forget;
        this.tau = tau;
        this.seed = seed;
        this.chunk = maxChunk;
        this.slots = budget + maxChunk;
        this.keys = new float[layers][kvHeads][slots * headDim];
        this.values = new float[layers][kvHeads][slots * headDim];
        this.pos = new int[layers][kvHeads][slots];
        this.count = new int[layers][kvHeads];
    }

    @Override
    public void configure(AttentionGeometry geometry) {
        if (geometry.kvHeads() != kvHeads || geometry.headDim() != headDim) {
            throw new IllegalArgumentException("attention geometry " + geometry.kvHeads() + "x" + geometry.headDim()
                    + " does not match the cache " + kvHeads + "x" + headDim);
        }
        if (length > 0) throw new IllegalStateException("configure must precede the first write");
        this.g = geometry;
        this.scratch = new float[geometry.threads()][slots];
        this.gumbel = new float[geometry.threads()][slots];
        this.score = new float[layers][geometry.heads()][slots];
        this.noise = new SplittableRandom[layers][geometry.heads()];
        SplittableRandom root = new SplittableRandom(seed);
        for (int l = 0; l < layers; l++) for (int h = 0; h < geometry.heads(); h++) noise[l][h] = root.split();
    }

    @Override public GGMLType elementType() { return GGMLType.F32; }
    @Override public int layers() { return layers; }
    @Override public int capacity() { return capacity; }
    @Override public int kvHeads(int layer) { return kvHeads; }
    @Override public int headDim(int layer) { return headDim; }
    @Override public int length() { return length; }
    @Override public int maxChunk() { return chunk; }
    @Override public int maxAttended() { return slots; }

    public int budget() { return budget; }

    /** Positions currently held by (layer, kvHead). */
    public int retained(int layer, int kvHead) { return count[layer][kvHead]; }

    /** The positions held by (layer, kvHead), ascending. */
    public int[] retainedPositions(int layer, int kvHead) {
        int[] p = Arrays.copyOf(pos[layer][kvHead], count[layer][kvHead]);
        Arrays.sort(p);
        return p;
    }

    /** Positions evicted so far (summed over layers and KV heads). */
    public long evictions() { return evictions; }

    @Override
    public void write(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the KV cache capacity " + capacity);
        }
        for (int h = 0; h < kvHeads; h++) {
            int s = count[layer][h];
            if (s == slots) {
                throw new IllegalStateException("eviction cache full: " + slots + " slots (budget " + budget
                        + " + chunk " + chunk + "); forward chunks must not exceed maxChunk()");
            }
            count[layer][h] = s + 1;
            System.arraycopy(k, kOff + h * headDim, keys[layer][h], s * headDim, headDim);
            System.arraycopy(v, vOff + h * headDim, values[layer][h], s * headDim, headDim);
            pos[layer][h][s] = position;
            if (score != null) {
                int group = g.group();
                for (int qh = h * group; qh < (h + 1) * group; qh++) score[layer][qh][s] = 0f;
            }
        }
        if (position >= length) length = position + 1;
    }

    @Override
    public void attend(int layer, int head, float[] q, int qOff, int position, float[] out, int outOff, int thread) {
        float[] sc = scratch[thread];
        int kvh = head / g.group(), hd = headDim;
        int n = count[layer][kvh];
        float[] kl = keys[layer][kvh], vl = values[layer][kvh];
        int[] pl = pos[layer][kvh];
        int modelWindow = g.windows() == null ? 0 : g.windows()[layer];
        for (int s = 0; s < n; s++) {
            int p = pl[s];
            boolean visible = p <= position && (modelWindow <= 0 || position - p < modelWindow);
            sc[s] = visible ? VectorMath.dot(q, qOff, kl, s * hd, hd) : Float.NEGATIVE_INFINITY;
        }
        AttentionKernels.softmax(sc, n, g.queryScale(), g.softcap());
        observe(layer, head, sc, n, thread);
        Arrays.fill(out, outOff, outOff + hd, 0f);
        for (int s = 0; s < n; s++) {
            if (sc[s] != 0f) AttentionKernels.axpy(out, outOff, sc[s], vl, s * hd, hd);
        }
    }

    /** Folds the softmax weights {@code w[0 .. n)} of one query of {@code head} into that head's slot scores. */
    private void observe(int layer, int head, float[] w, int n, int thread) {
        float[] sh = score[layer][head];
        switch (scoring) {
            case H2O -> { for (int s = 0; s < n; s++) sh[s] += w[s]; }
            case A2SF -> { for (int s = 0; s < n; s++) sh[s] = forget * sh[s] + w[s]; }
            case KEYFORMER -> {
                SplittableRandom rnd = noise[layer][head];
                double max = Double.NEGATIVE_INFINITY;
                float[] t = gumbel[thread];
                for (int s = 0; s < n; s++) {
                    if (w[s] == 0f) { t[s] = Float.NaN; continue; }
                    double u = rnd.nextDouble();
                    double gn = -Math.log(-Math.log(Math.max(u, 1e-12)));
                    double z = (Math.log(w[s]) + gn) / tau;
                    t[s] = (float) z;
                    if (z > max) max = z;
                }
                double sum = 0;
                for (int s = 0; s < n; s++) {
                    if (Float.isNaN(t[s])) { t[s] = 0f; continue; }
                    float e = (float) Math.exp(t[s] - max);
                    t[s] = e;
                    sum += e;
                }
                float inv = (float) (1 / sum);
                for (int s = 0; s < n; s++) sh[s] += t[s] * inv;
            }
        }
    }

    @Override
    public void endChunk() {
        int newest = length - 1;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                int n = count[l][h];
                if (n > budget) evict(l, h, n - budget, newest);
            }
        }
    }

    /** Evicts {@code k} slots of (layer, kvHead) with the lowest group score outside the recent window. */
    private void evict(int layer, int kvh, int k, int newest) {
        int n = count[layer][kvh];
        int[] pl = pos[layer][kvh];
        int group = g.group();
        float[] total = new float[n];
        int[] cand = new int[n];
        int nc = 0;
        for (int s = 0; s < n; s++) {
            if (pl[s] > newest - recent) continue; // protected recent position
            float t = 0;
            for (int qh = kvh * group; qh < (kvh + 1) * group; qh++) t += score[layer][qh][s];
            total[s] = t;
            cand[nc++] = s;
        }
        // k lowest by (score, position): older first on ties
        Integer[] order = new Integer[nc];
        for (int i = 0; i < nc; i++) order[i] = cand[i];
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(total[a], total[b]);
            return c != 0 ? c : Integer.compare(pl[a], pl[b]);
        });
        int[] victims = new int[Math.min(k, nc)];
        for (int i = 0; i < victims.length; i++) victims[i] = order[i];
        Arrays.sort(victims);
        for (int i = victims.length - 1; i >= 0; i--) removeSlot(layer, kvh, victims[i]);
        evictions += victims.length;
        evicted = true;
    }

    /** Removes slot {@code s} by moving the last slot into it. */
    private void removeSlot(int layer, int kvh, int s) {
        int last = --count[layer][kvh];
        if (s == last) return;
        int hd = headDim;
        System.arraycopy(keys[layer][kvh], last * hd, keys[layer][kvh], s * hd, hd);
        System.arraycopy(values[layer][kvh], last * hd, values[layer][kvh], s * hd, hd);
        pos[layer][kvh][s] = pos[layer][kvh][last];
        int group = g.group();
        for (int qh = kvh * group; qh < (kvh + 1) * group; qh++) score[layer][qh][s] = score[layer][qh][last];
    }

    @Override
    public void truncate(int length) {
        if (length < 0 || length > capacity) {
            throw new IllegalArgumentException("truncate length " + length + " outside [0, " + capacity + "]");
        }
        if (length >= this.length) return;
        if (evicted) throw new UnsupportedOperationException("cannot rewind an eviction cache after it has evicted");
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < kvHeads; h++) {
                for (int s = count[l][h] - 1; s >= 0; s--) if (pos[l][h][s] >= length) removeSlot(l, h, s);
            }
        }
        this.length = length;
    }

    @Override
    public long bytes() {
        long kv = 2L * layers * kvHeads * (long) slots * headDim * Float.BYTES;
        long meta = (long) layers * kvHeads * slots * Integer.BYTES
                + (g == null ? 0 : (long) layers * g.heads() * slots * Float.BYTES);
        return kv + meta;
    }

    @Override
    public String describe() {
        return scoring.name().toLowerCase(java.util.Locale.ROOT) + ":budget=" + budget + ",recent=" + recent
                + (scoring == Scoring.A2SF ? ",forget=" + forget : "") + (scoring == Scoring.KEYFORMER ? ",tau=" + tau : "");
    }
}
