package io.jlm.models.state;

import java.util.Arrays;

/**
 * Split-K decode attention (flash-decoding): the context {@code [from, to)} of one decode query is cut into
 * {@code splits} pieces attended independently (on different threads); each piece leaves its partial softmax state,
 * the maximum logit {@code m}, the sum {@code l = sum exp(s - m)} and the unnormalised output
 * {@code o = sum exp(s - m) v}, and {@link #merge} combines them exactly:
 * {@code M = max m_j}, {@code out = sum_j exp(m_j - M) o_j / sum_j exp(m_j - M) l_j}.
 *
 * <p>Used by the transformer forward pass when one token is decoded and the query heads alone cannot keep all
 * threads busy. {@link #singlePass} is the unsplit computation (scores, softmax, weighted sum), as the forward pass
 * runs it otherwise.
 */
public final class SplitKAttention {
    /** Smallest number of positions worth a split of its own. */
    public static final int MIN_SPLIT = 512;

    private final int headDim;
    /** Floats per partial output slot: the head rounded up to whole 64-byte lines (no false sharing between threads). */
    private final int stride;
    private float[] partialOut;  // [item][stride]
    private float[] partialMax, partialSum;
    private final java.util.concurrent.atomic.AtomicInteger claims = new java.util.concurrent.atomic.AtomicInteger();

    public SplitKAttention(int headDim) {
        this.headDim = headDim;
        this.stride = (headDim + 15) / 16 * 16 + 16;
        ensure(1);
    }

    private void ensure(int items) {
        if (partialMax != null && partialMax.length >= items) return;
        partialOut = new float[items * stride];
        partialMax = new float[items];
        partialSum = new float[items];
    }

    /**
     * The number of pieces per query head for {@code heads} heads, {@code threads} threads and a context of
     * {@code n} positions: 1 when the heads already divide evenly over the threads, there is one thread or the
     * context is short; else enough pieces for about four per thread (so that a thread that starts late or is
     * preempted takes fewer of them: pieces are claimed dynamically, see {@link #claim}), each of at least
     * {@link #MIN_SPLIT} positions.
     */
    public static int splits(int heads, int threads, int n) {
        if (threads <= 1 || heads % threads == 0) return 1;
        int want = (4 * threads + heads - 1) / heads;
        return Math.max(1, Math.min(want, n / MIN_SPLIT));
    }

    /** Starts a new round of dynamically claimed work items (call before the parallel part). */
    public void resetClaims() { claims.set(0); }

    /** The next unclaimed work item of this round (items at or beyond the item count mean: done). */
    public int claim() { return claims.getAndIncrement(); }


    /** Prepares partial slots for {@code items} work items (heads x splits); call before the parallel part. */
    public void reserve(int items) { ensure(items); }

    /** The {@code split}-th of {@code splits} pieces of {@code [from, to)}: its first position. */
    public static int splitStart(int from, int to, int split, int splits) {
        return from + (int) ((long) (to - from) * split / splits);
    }

    /**
     * Attends {@code [from, to)} of (layer, kvHead) with the query {@code q[qOff ..)} and stores the partial state in
     * slot {@code item}; {@code sc} is scratch of at least {@code to - from} floats.
     */
    public void partial(int item, KvCache cache, int layer, int kvHead, float[] q, int qOff, int from, int to,
                        float scale, float cap, float[] sc) {
        int n = to - from, o = item * stride;
        Arrays.fill(partialOut, o, o + headDim, 0f);
        if (n <= 0) {
            partialMax[item] = Float.NEGATIVE_INFINITY;
            partialSum[item] = 0f;
            return;
        }
        cache.scores(layer, kvHead, q, qOff, from, to, sc, 0);
        float max = AttentionKernels.scaleAndMax(sc, 0, n, scale, cap);
        float sum = AttentionKernels.expShift(sc, 0, n, max);
        cache.accumulate(layer, kvHead, sc, 0, from, to, partialOut, o);
        partialMax[item] = max;
        partialSum[item] = sum;
    }

    /** Merges slots {@code [first, first + count)} into {@code out[outOff .. outOff + headDim)} (overwritten). */
    public void merge(int first, int count, float[] out, int outOff) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = first; i < first + count; i++) m = Math.max(m, partialMax[i]);
        float total = 0;
        Arrays.fill(out, outOff, outOff + headDim, 0f);
        for (int i = first; i < first + count; i++) {
            if (partialMax[i] == Float.NEGATIVE_INFINITY) continue;
            float f = (float) Math.exp(partialMax[i] - m);
            total += f * partialSum[i];
            AttentionKernels.axpy(out, outOff, f, partialOut, i * stride, headDim);
        }
        float inv = 1f / total;
        for (int i = 0; i < headDim; i++) out[outOff + i] *= inv;
    }

    /** The unsplit attention of one query over {@code [from, to)} into {@code out[outOff ..)} (overwritten). */
    public static void singlePass(KvCache cache, int layer, int kvHead, float[] q, int qOff, int from, int to,
                                  float scale, float cap, float[] sc, float[] out, int outOff) {
        int n = to - from;
        cache.scores(layer, kvHead, q, qOff, from, to, sc, 0);
        AttentionKernels.softmax(sc, n, scale, cap);
        int hd = cache.headDim(layer);
        Arrays.fill(out, outOff, outOff + hd, 0f);
        cache.accumulate(layer, kvHead, sc, 0, from, to, out, outOff);
    }
}
