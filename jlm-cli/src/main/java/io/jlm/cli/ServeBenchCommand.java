package io.jlm.cli;

import io.jlm.engine.SamplerConfig;
import io.jlm.server.GenerationRequest;
import io.jlm.server.Metrics;
import io.jlm.server.Scheduler;
import io.jlm.server.SequenceListener;
import io.jlm.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code jlm serve-bench}: measures the server's scheduler in-process (no HTTP): aggregate decode tokens/s with
 * 1 and N concurrent greedy streams, and time to first token for a request whose long prompt prefix is already
 * in the prefix cache versus cold.
 */
@Command(name = "serve-bench", description = "Benchmarks continuous batching and prefix caching of the server's scheduler.")
final class ServeBenchCommand implements java.util.concurrent.Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;

    @Option(names = "--streams", split = ",", defaultValue = "1,8", description = "Concurrent stream counts to measure (default: ${DEFAULT-VALUE}).")
    List<Integer> streams;

    @Option(names = {"-n", "--tokens"}, defaultValue = "64", description = "Tokens generated per stream (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--prefix", defaultValue = "1000", description = "Shared prompt prefix length for the TTFT test; 0 skips it (default: ${DEFAULT-VALUE}).")
    int prefix;

    @Option(names = "--rounds", defaultValue = "2", description = "Repetitions; the best round is reported (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--batch-invariant", description = "Run the scheduler in batch-invariant mode.")
    boolean batchInvariant;

    @Mixin
    RunOptions run;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        int maxStreams = streams.stream().mapToInt(Integer::intValue).max().orElse(1);
        try (LoadedModel lm = LoadedModel.open(model, run.threads)) {
            int ctx = Math.max(prefix + tokens + 64, 256);
            ServerOptions o = new ServerOptions("127.0.0.1", 0, null, "bench", ctx, maxStreams, 512, 256, 1 << 20, 1 << 20,
                    0, 16, batchInvariant, null);
            try (Scheduler s = new Scheduler(lm.model, lm.tokenizer, o, new Metrics())) {
                out.printf(Locale.ROOT, "model %s, %d threads, %d tokens per stream%n", model.getFileName(), lm.pool.threads(), tokens);
                double single = 0;
                for (int n : streams) {
                    double best = 0;
                    for (int r = 0; r < rounds; r++) best = Math.max(best, aggregate(s, lm, n, r));
                    if (n == 1) single = best;
                    out.printf(Locale.ROOT, "streams %2d: %8.2f tokens/s aggregate%s%n", n, best,
                            single > 0 && n > 1 ? String.format(Locale.ROOT, "  (%.2fx one stream)", best / single) : "");
                    out.flush();
                }
                if (prefix > 0) {
                    int[] shared = filler(lm, prefix, 0);
                    long cold = ttft(s, concat(shared, filler(lm, 8, 1)));
                    long warm = ttft(s, concat(shared, filler(lm, 8, 2)));
                    out.printf(Locale.ROOT, "prefix %d tokens: TTFT cold %.3f s, cached %.3f s (%.1fx lower)%n",
                            prefix, cold / 1e9, warm / 1e9, (double) cold / warm);
                }
            }
        }
        return 0;
    }

    /** Aggregate generated tokens/s of n greedy streams started together (short distinct prompts). */
    private double aggregate(Scheduler s, LoadedModel lm, int n, int round) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(n);
        AtomicLong generated = new AtomicLong();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            int[] prompt = filler(lm, 8, 100 + round * 64 + i);
            s.submit(new GenerationRequest(prompt, SamplerConfig.greedy(), tokens, List.of(), -1, null), listener(done, generated, null));
        }
        done.await();
        return generated.get() / ((System.nanoTime() - t0) / 1e9);
    }

    private static long ttft(Scheduler s, int[] prompt) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        AtomicLong first = new AtomicLong();
        long t0 = System.nanoTime();
        s.submit(new GenerationRequest(prompt, SamplerConfig.greedy(), 1, List.of(), -1, null), listener(done, new AtomicLong(), first));
        done.await(600, TimeUnit.SECONDS);
        return first.get() - t0;
    }

    private static SequenceListener listener(CountDownLatch done, AtomicLong generated, AtomicLong firstAt) {
        return new SequenceListener() {
            @Override public void onToken(String text, TokenLogprob lp) {
                if (firstAt != null) firstAt.compareAndSet(0, System.nanoTime());
                generated.incrementAndGet();
            }
            @Override public void onFinish(FinishReason reason, int p, int c) { done.countDown(); }
            @Override public void onError(String message) { System.err.println("jlm: " + message); done.countDown(); }
        };
    }

    /** Deterministic ordinary tokens (no control tokens) for synthetic prompts. */
    private static int[] filler(LoadedModel lm, int n, int salt) {
        int[] t = new int[n];
        int vocab = lm.model.config().vocabSize();
        long x = 0x9E3779B97F4A7C15L * (salt + 1);
        for (int i = 0; i < n; i++) {
            int tok;
            do {
                x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
                tok = (int) Math.floorMod(x, (long) vocab);
            } while (lm.tokenizer.isControl(tok) || lm.tokenizer.isEndOfGeneration(tok));
            t[i] = tok;
        }
        return t;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
