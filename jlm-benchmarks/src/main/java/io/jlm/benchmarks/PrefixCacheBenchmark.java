package io.jlm.benchmarks;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.Models;
import io.jlm.models.state.KvBlockPool;
import io.jlm.models.state.PagedKvCache;
import io.jlm.models.transformer.TransformerConfig;
import io.jlm.models.transformer.TransformerModel;
import io.jlm.models.transformer.TransformerState;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Time to first token with and without prefix caching: request A (a shared prefix of P tokens plus its own
 * suffix) is prefilled from scratch and publishes its blocks; request B (same prefix, another suffix) attaches the
 * cached blocks and prefills only the rest. Usage:
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp 'jlm-benchmarks/target/classes:jlm-benchmarks/target/lib/*' io.jlm.benchmarks.PrefixCacheBenchmark \
 *     MODEL.gguf [threads=2] [prefix=1000] [suffix=16] [rounds=3]</pre>
 */
public final class PrefixCacheBenchmark {
    private PrefixCacheBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int prefix = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        int suffix = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        try (ThreadPool pool = new ThreadPool(threads);
             TransformerModel m = (TransformerModel) Models.load(model, pool)) {
            TransformerConfig c = m.transformerConfig();
            int capacity = prefix + suffix + 1;
            int blockSize = 16;
            try (KvBlockPool kv = new KvBlockPool(GGMLType.F16, c.layers(), c.kvHeads(), c.headDim(), blockSize,
                    3 * ((capacity + blockSize - 1) / blockSize))) {
                System.out.printf(Locale.ROOT, "model %s, %d threads, prefix %d + suffix %d tokens, pool %.1f MiB%n",
                        model.getFileName(), threads, prefix, suffix, kv.bytes() / 1048576.0);
                double bestCold = Double.MAX_VALUE, bestWarm = Double.MAX_VALUE;
                for (int round = 0; round < rounds; round++) {
                    int[] a = prompt(prefix, suffix, c.vocabSize(), 1000 * round + 1);
                    int[] b = prompt(prefix, suffix, c.vocabSize(), 1000 * round + 2);
                    System.arraycopy(a, 0, b, 0, prefix); // shared prefix, different suffixes
                    long t0 = System.nanoTime();
                    try (PagedKvCache ca = kv.newCache(capacity)) {
                        m.forward(m.newState(ca), a, false);
                        double cold = (System.nanoTime() - t0) / 1e6;
                        ca.publish(a);
                        long t1 = System.nanoTime();
                        double warm;
                        int reused;
                        try (PagedKvCache cb = kv.newCache(capacity)) {
                            reused = cb.attachPrefix(b);
                            TransformerState sb = m.newState(cb);
                            m.forward(sb, java.util.Arrays.copyOfRange(b, reused, b.length), false);
                            warm = (System.nanoTime() - t1) / 1e6;
                        }
                        System.out.printf(Locale.ROOT, "  round %d: cold TTFT %8.1f ms, with cached prefix %7.1f ms "
                                + "(%d positions reused) = %.1fx%n", round, cold, warm, reused, cold / warm);
                        bestCold = Math.min(bestCold, cold);
                        bestWarm = Math.min(bestWarm, warm);
                    }
                }
                System.out.printf(Locale.ROOT, "best: cold %.1f ms, cached %.1f ms, %.1fx lower time to first token%n",
                        bestCold, bestWarm, bestCold / bestWarm);
            }
        }
    }

    private static int[] prompt(int prefix, int suffix, int vocab, int seed) {
        int[] t = new int[prefix + suffix];
        t[0] = 1;
        for (int i = 1; i < t.length; i++) t[i] = 2 + (int) Math.floorMod(seed * 2654435761L + i * 40503L, (long) vocab - 2);
        return t;
    }
}
