package io.jlm.benchmarks;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.BatchEntry;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import io.jlm.models.ModelState;
import io.jlm.models.state.KvBlockPool;
import io.jlm.models.state.PagedKvCache;
import io.jlm.models.transformer.TransformerConfig;
import io.jlm.models.transformer.TransformerModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Aggregate decode throughput of N concurrent sequences stepped together with
 * {@link LanguageModel#forwardBatch} (continuous batching: one row per sequence per step, weights read once per
 * step), against one sequence decoded with {@link LanguageModel#forward}. Every sequence is prefilled with its own
 * short prompt, then greedy-decodes. The configurations run in interleaved rounds and the best round of each is
 * reported, so a noisy shared machine affects them alike. Usage:
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp 'jlm-benchmarks/target/classes:jlm-benchmarks/target/lib/*' io.jlm.benchmarks.BatchDecodeBenchmark \
 *     MODEL.gguf [threads=2] [streams=1,8] [steps=32] [rounds=3] [cache=paged|contiguous] [invariant]</pre>
 * With {@code invariant}, the model runs with {@link TransformerModel#batchInvariant(boolean)} on (one-row products
 * through the matrix-matrix kernel too), which shows what bit-identical batching costs a lone stream.
 */
public final class BatchDecodeBenchmark {
    private BatchDecodeBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: BatchDecodeBenchmark MODEL.gguf [threads] [streams,...] [steps] [rounds] [paged|contiguous]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        String[] streamList = (args.length > 2 ? args[2] : "1,8").split(",");
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        boolean paged = args.length <= 5 || args[5].equals("paged");
        boolean invariant = args.length > 6 && args[6].equals("invariant");
        int promptLen = 16;

        try (ThreadPool pool = new ThreadPool(threads); LanguageModel m = Models.load(model, pool)) {
            if (invariant && m instanceof TransformerModel tm) tm.batchInvariant(true);
            int maxStreams = 0;
            for (String s : streamList) maxStreams = Math.max(maxStreams, Integer.parseInt(s.trim()));
            int capacity = promptLen + steps * (rounds + 1) + 8;
            KvBlockPool kv = null;
            if (paged && m instanceof TransformerModel tm) {
                TransformerConfig c = tm.transformerConfig();
                int blocks = (maxStreams + 1) * ((capacity + 15) / 16);
                kv = new KvBlockPool(GGMLType.F16, c.layers(), c.kvHeads(), c.headDim(), 16, blocks);
            }
            System.out.printf(Locale.ROOT, "model %s, %d threads, %s KV cache, %d decode steps per round, %d rounds%s%n",
                    model.getFileName(), threads, kv != null ? "paged F16" : "contiguous F16", steps, rounds,
                    invariant ? ", batch-invariant products" : "");
            double[] best = new double[streamList.length];
            for (int round = -1; round < rounds; round++) {  // round -1 warms up the JIT
                for (int i = 0; i < streamList.length; i++) {
                    int n = Integer.parseInt(streamList[i].trim());
                    double tps = run(m, kv, n, capacity, promptLen, round < 0 ? Math.max(4, steps / 4) : steps);
                    if (round >= 0) {
                        best[i] = Math.max(best[i], tps);
                        System.out.printf(Locale.ROOT, "  round %d: %2d stream(s): %8.2f tokens/s aggregate%n", round, n, tps);
                    }
                }
            }
            System.out.println();
            System.out.println("| streams | aggregate decode tokens/s (best round) | per stream | vs 1 stream |");
            System.out.println("|---:|---:|---:|---:|");
            double base = 0;
            for (int i = 0; i < streamList.length; i++) if (Integer.parseInt(streamList[i].trim()) == 1) base = best[i];
            for (int i = 0; i < streamList.length; i++) {
                int n = Integer.parseInt(streamList[i].trim());
                System.out.printf(Locale.ROOT, "| %d | %.2f | %.2f | %s |%n", n, best[i], best[i] / n,
                        base > 0 ? String.format(Locale.ROOT, "%.2fx", best[i] / base) : "-");
            }
            if (kv != null) kv.close();
        }
    }

    /** Prefills {@code n} sequences, then decodes {@code steps} tokens in each; returns aggregate decode tokens/s. */
    private static double run(LanguageModel m, KvBlockPool kv, int n, int capacity, int promptLen, int steps) {
        int vocab = m.config().vocabSize();
        List<ModelState> states = new ArrayList<>();
        List<PagedKvCache> caches = new ArrayList<>();
        try {
            List<BatchEntry> prefill = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                ModelState st;
                if (kv != null) {
                    PagedKvCache c = kv.newCache(capacity);
                    caches.add(c);
                    st = ((TransformerModel) m).newState(c);
                } else {
                    st = m.newState(capacity);
                }
                states.add(st);
                int[] prompt = new int[promptLen];
                for (int i = 0; i < promptLen; i++) prompt[i] = 1 + (s * 7919 + i * 104729) % (vocab - 1);
                prefill.add(new BatchEntry(st, prompt));
            }
            int[] next = new int[n];
            List<float[]> logits = m.forwardBatch(prefill);
            for (int s = 0; s < n; s++) next[s] = argmax(logits.get(s));

            long t0 = System.nanoTime();
            if (n == 1) {
                ModelState st = states.get(0);
                for (int step = 0; step < steps; step++) next[0] = argmax(m.forward(st, new int[]{next[0]}, false));
            } else {
                List<BatchEntry> batch = new ArrayList<>(n);
                for (int step = 0; step < steps; step++) {
                    batch.clear();
                    for (int s = 0; s < n; s++) batch.add(new BatchEntry(states.get(s), new int[]{next[s]}));
                    logits = m.forwardBatch(batch);
                    for (int s = 0; s < n; s++) next[s] = argmax(logits.get(s));
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            return (double) n * steps / secs;
        } finally {
            for (PagedKvCache c : caches) c.close();
        }
    }

    private static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }
}
