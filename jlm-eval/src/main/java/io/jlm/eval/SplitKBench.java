package io.jlm.eval;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.state.ContiguousKvCache;
import io.jlm.models.state.KvCache;
import io.jlm.models.state.QuantizedKvCache;
import io.jlm.models.state.SplitKAttention;

import java.util.Arrays;
import java.util.Random;

/**
 * Micro benchmark of split-K decode attention: one decode query per head over a cache of {@code context}
 * positions, the single-threaded single pass ({@link SplitKAttention#singlePass}) against split-K on a pool of
 * {@code threads} threads (partials in parallel, then the exact merge). Reports the median time per query set; each
 * variant is timed in its own run of back-to-back calls.
 */
public final class SplitKBench {

    public record Result(int context, int heads, int headDim, int threads, int splits, String cacheType,
                         double singleMs, double splitMs, double splitOneThreadMs, double maxRelDiff) {
        public double speedup() { return singleMs / splitMs; }
        /** Split-K on the pool against the same pieces on one thread. */
        public double threadScaling() { return splitOneThreadMs / splitMs; }
    }

    private SplitKBench() {}

    public static Result run(GGMLType type, int context, int heads, int headDim, int threads, int iterations) {
        KvCache cache = type == GGMLType.F32 ? new ContiguousKvCache(GGMLType.F32, 1, context, heads, headDim)
                : new QuantizedKvCache(type, 1, context, heads, headDim);
        Random r = new Random(1);
        float[] k = new float[heads * headDim], v = new float[heads * headDim];
        for (int p = 0; p < context; p++) {
            for (int i = 0; i < k.length; i++) { k[i] = (float) r.nextGaussian(); v[i] = (float) r.nextGaussian(); }
            cache.write(0, p, k, 0, v, 0);
        }
        float[] q = new float[heads * headDim];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] single = new float[heads * headDim], split = new float[heads * headDim];
        float[] sc = new float[context];
        // as the forward pass: pieces per head claimed dynamically by the threads (1 = head-parallel when balanced)
        final int S = SplitKAttention.splits(heads, threads, context);
        SplitKAttention sk = new SplitKAttention(headDim);
        sk.reserve(heads * S);
        float[][] scratch = new float[threads][context];
        float[] threaded;
        double ts, tk, t1k;
        try (ThreadPool pool = new ThreadPool(threads)) {
            int items = heads * S;
            ThreadPool.RangeBody body = (from, to, thread) -> {
                for (int item = sk.claim(); item < items; item = sk.claim()) {
                    int h = item / S, s = item % S;
                    sk.partial(item, cache, 0, h, q, h * headDim, SplitKAttention.splitStart(0, context, s, S),
                            SplitKAttention.splitStart(0, context, s + 1, S), scale, 0f, scratch[thread]);
                }
            };
            // each variant runs back to back, as attention does layer after layer in a decode step (between calls the
            // pool's workers spin, see ThreadPool); interleaving the two would let the workers park during every
            // single pass and charge each split-K call a park/unpark wake-up (~0.4 ms on a 2-vCPU VM)
            ts = medianMs(iterations, () -> {
                for (int h = 0; h < heads; h++) {
                    SplitKAttention.singlePass(cache, 0, h, q, h * headDim, 0, context, scale, 0f, sc, single, h * headDim);
                }
            });
            tk = medianMs(iterations, () -> {
                sk.resetClaims();
                pool.parallelFor(threads, body);
                for (int h = 0; h < heads; h++) sk.merge(h * S, S, split, h * headDim);
            });
            threaded = split.clone();
            // the same pieces on the calling thread alone: separates the gain of threads from that of short pieces
            // (a piece's scores stay in L1/L2 where the single pass streams a context-long row)
            t1k = medianMs(iterations, () -> {
                sk.resetClaims();
                body.run(0, 1, 0);
                for (int h = 0; h < heads; h++) sk.merge(h * S, S, split, h * headDim);
            });
        }
        double diff = 0, max = 0;
        for (int i = 0; i < single.length; i++) {
            diff = Math.max(diff, Math.abs(single[i] - threaded[i]));
            if (threaded[i] != split[i]) throw new IllegalStateException("split-K on 1 and on " + threads + " threads differ");
            max = Math.max(max, Math.abs(single[i]));
        }
        return new Result(context, heads, headDim, threads, S, type.name().toLowerCase(java.util.Locale.ROOT),
                ts, tk, t1k, diff / max);
    }

    /** Median milliseconds of {@code iterations} back-to-back calls, after 10 warm-up calls. */
    private static double medianMs(int iterations, Runnable call) {
        double[] ms = new double[iterations];
        for (int it = -10; it < iterations; it++) {
            long t0 = System.nanoTime();
            call.run();
            if (it >= 0) ms[it] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[iterations / 2];
    }
}
