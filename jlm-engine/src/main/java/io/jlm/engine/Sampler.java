package io.jlm.engine;

import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits, as llama.cpp's default sampler chain does:
 * penalties (repeat / frequency / presence over the last N accepted tokens) -> top-k -> top-p -> min-p
 * -> temperature -> random draw (or argmax when the temperature is 0).
 *
 * <p>All working memory (candidate index and value arrays, penalty window, counts) is allocated once;
 * {@link #sample} allocates nothing. Top-k uses a quickselect plus a sort of the k survivors; top-p sorts only
 * as long a prefix as the nucleus needs. Not thread-safe: one sampler per sequence.
 */
public final class Sampler {

    private final SamplerConfig config;
    private final int vocab;
    private final SplittableRandom random;

    // candidates: token ids and their (penalized, pre-temperature) logits; [0, sorted) is sorted descending and
    // holds the largest values among [0, n)
    private final int[] ids;
    private final float[] vals;
    private final float[] probs;
    private int n;
    private int sorted;

    // penalty window: ring buffer of the last repeatLastN accepted tokens
    private final int[] ring;
    private int ringHead, ringSize;
    private final int[] counts;

    public Sampler(SamplerConfig config, int vocabSize) {
        if (vocabSize <= 0) throw new IllegalArgumentException("vocabulary size: " + vocabSize + " (expected > 0)");
        this.config = config;
        this.vocab = vocabSize;
        this.random = new SplittableRandom(config.seed());
        this.ids = new int[vocabSize];
        this.vals = new float[vocabSize];
        this.probs = new float[vocabSize];
        this.ring = new int[Math.max(config.repeatLastN(), 1)];
        this.counts = new int[vocabSize];
    }

    public SamplerConfig config() { return config; }

    /** Records a token (of the prompt or generated) in the penalty window. */
    public void accept(int token) {
        if (config.repeatLastN() == 0) return;
        if (token < 0 || token >= vocab) throw new IllegalArgumentException("token " + token + " outside vocabulary [0, " + vocab + ")");
        int cap = ring.length;
        if (ringSize < cap) {
            ring[(ringHead + ringSize) % cap] = token;
            ringSize++;
        } else {
            ring[ringHead] = token;
            ringHead = (ringHead + 1) % cap;
        }
    }

    /** Forgets the penalty window (the random stream continues). */
    public void reset() {
        ringHead = 0;
        ringSize = 0;
    }

    public int sample(float[] logits) {
        return sample(logits, 0);
    }

    /** Samples from {@code logits[offset .. offset + vocab)}; the array is not modified. */
    public int sample(float[] logits, int offset) {
        if (config.temperature() <= 0f) {
            loadPenalized(logits, offset);
            return argmax();
        }
        int count = prepare(logits, offset);
        double sum = 0;
        for (int i = 0; i < count; i++) sum += probs[i];
        double r = random.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < count; i++) {
            acc += probs[i];
            if (r < acc) return ids[i];
        }
        return ids[count - 1];
    }

    /**
     * Runs the filter chain (without the draw) and leaves the final candidates in {@link #candidateToken} /
     * {@link #candidateProbability}: normalized probabilities after temperature. Greedy (temperature 0) gives
     * the single argmax token with probability 1. Returns the number of candidates.
     */
    public int distribution(float[] logits, int offset) {
        if (config.temperature() <= 0f) {
            loadPenalized(logits, offset);
            int best = argmax();
            ids[0] = best;
            probs[0] = 1f;
            n = 1;
            return 1;
        }
        int count = prepare(logits, offset);
        double sum = 0;
        for (int i = 0; i < count; i++) sum += probs[i];
        for (int i = 0; i < count; i++) probs[i] = (float) (probs[i] / sum);
        return count;
    }

    public int candidateToken(int i) { return ids[i]; }

    public float candidateProbability(int i) { return probs[i]; }

    // ---------------------------------------------------------------------------------------------------------

    /** Copies the row into the candidate arrays and applies the penalties. */
    private void loadPenalized(float[] logits, int offset) {
        if (offset < 0 || offset + vocab > logits.length) {
            throw new IllegalArgumentException("logits: need " + vocab + " values at offset " + offset + ", array has " + logits.length);
        }
        System.arraycopy(logits, offset, vals, 0, vocab);
        for (int i = 0; i < vocab; i++) ids[i] = i;
        n = vocab;
        sorted = 0;
        if (!config.penaltiesEnabled() || ringSize == 0) return;
        int cap = ring.length;
        for (int i = 0; i < ringSize; i++) counts[ring[(ringHead + i) % cap]]++;
        float rp = config.repeatPenalty(), fp = config.frequencyPenalty(), pp = config.presencePenalty();
        for (int i = 0; i < ringSize; i++) {
            int t = ring[(ringHead + i) % cap];
            int c = counts[t];
            if (c == 0) continue; // already done
            float v = vals[t];
            v = v <= 0f ? v * rp : v / rp;
            v -= c * fp + pp;
            vals[t] = v;
            counts[t] = 0;
        }
    }

    private int argmax() {
        int best = 0;
        float bv = vals[0];
        for (int i = 1; i < vocab; i++) {
            float v = vals[i];
            if (v > bv) { bv = v; best = i; }
        }
        return best;
    }

    /** Penalties, top-k, top-p, min-p and temperature; fills probs[0..count) with unnormalized weights. */
    private int prepare(float[] logits, int offset) {
        loadPenalized(logits, offset);
        int k = config.topK();
        if (k > 0 && k < n) {
            selectTop(0, n, k);
            n = k;
            sortDescending(0, k);
            sorted = k;
        }
        float p = config.topP();
        if (p < 1f) topP(p);
        float minP = config.minP();
        if (minP > 0f) minP(minP);

        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, vals[i]);
        double invT = 1.0 / config.temperature();
        for (int i = 0; i < n; i++) probs[i] = (float) Math.exp((vals[i] - max) * invT);
        return n;
    }

    private void topP(float p) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, vals[i]);
        double total = 0;
        for (int i = 0; i < n; i++) total += Math.exp(vals[i] - max);
        double target = p * total;
        double cum = 0;
        int want = Math.min(n, 64);
        int i = 0;
        while (true) {
            ensureSorted(want);
            for (; i < want; i++) {
                cum += Math.exp(vals[i] - max);
                if (cum >= target) {
                    n = i + 1;
                    sorted = n;
                    return;
                }
            }
            if (want == n) return; // rounding: keep everything
            want = (int) Math.min(n, (long) want * 4);
        }
    }

    private void minP(float minP) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, vals[i]);
        float threshold = max + (float) Math.log(minP);
        int w = 0, newSorted = 0;
        for (int i = 0; i < n; i++) {
            if (vals[i] >= threshold) {
                if (i < sorted) newSorted++;
                vals[w] = vals[i];
                ids[w] = ids[i];
                w++;
            }
        }
        n = w;
        sorted = Math.min(newSorted, w);
    }

    /** Makes [0, m) the m largest candidates, sorted descending. */
    private void ensureSorted(int m) {
        if (m <= sorted) return;
        if (m < n) selectTop(sorted, n, m - sorted);
        sortDescending(sorted, m);
        sorted = m;
    }

    /** Partially orders [lo, hi) so that its k largest values occupy [lo, lo + k) (in any order). */
    private void selectTop(int lo, int hi, int k) {
        int target = lo + k; // first index of the "rest"
        int l = lo, h = hi - 1;
        while (l < h) {
            int mid = (l + h) >>> 1;
            float pivot = median3(vals[l], vals[mid], vals[h]);
            int i = l, j = h;
            while (i <= j) {
                while (vals[i] > pivot) i++;
                while (vals[j] < pivot) j--;
                if (i <= j) { swap(i, j); i++; j--; }
            }
            // [l, j] >= pivot >= [i, h]
            if (target <= j) h = j;
            else if (target >= i) l = i;
            else return;
        }
    }

    private void sortDescending(int lo, int hi) {
        while (hi - lo > 16) {
            int mid = (lo + hi - 1) >>> 1;
            float pivot = median3(vals[lo], vals[mid], vals[hi - 1]);
            int i = lo, j = hi - 1;
            while (i <= j) {
                while (vals[i] > pivot) i++;
                while (vals[j] < pivot) j--;
                if (i <= j) { swap(i, j); i++; j--; }
            }
            // recurse into the smaller side, loop on the larger
            if (j + 1 - lo < hi - i) {
                sortDescending(lo, j + 1);
                lo = i;
            } else {
                sortDescending(i, hi);
                hi = j + 1;
            }
        }
        for (int a = lo + 1; a < hi; a++) {
            float v = vals[a];
            int id = ids[a];
            int b = a - 1;
            while (b >= lo && (vals[b] < v || (vals[b] == v && ids[b] > id))) {
                vals[b + 1] = vals[b];
                ids[b + 1] = ids[b];
                b--;
            }
            vals[b + 1] = v;
            ids[b + 1] = id;
        }
    }

    private static float median3(float a, float b, float c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    private void swap(int i, int j) {
        float v = vals[i]; vals[i] = vals[j]; vals[j] = v;
        int t = ids[i]; ids[i] = ids[j]; ids[j] = t;
    }
}
