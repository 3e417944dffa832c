package io.jlm.engine.bench;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * llama-bench style measurements: {@code pp N} (prompt processing: one batched forward over N tokens)
 * and {@code tg N} (text generation: N single-token decode steps), each repeated and reported as mean and
 * standard deviation of tokens per second. Token ids are random (fixed seed), as in llama-bench.
 */
public final class Benchmark {

    /** One test: kind "pp" or "tg", its token count, and the measured tokens/s of each repetition. */
    public record Result(String test, int tokens, double[] tokensPerSecond) {
        public double mean() {
            double s = 0;
            for (double v : tokensPerSecond) s += v;
            return s / tokensPerSecond.length;
        }

        public double stddev() {
            if (tokensPerSecond.length < 2) return 0;
            double m = mean(), s = 0;
            for (double v : tokensPerSecond) s += (v - m) * (v - m);
            return Math.sqrt(s / (tokensPerSecond.length - 1));
        }

        public String name() { return test + tokens; }
    }

    private final LanguageModel model;
    private final SplittableRandom random = new SplittableRandom(1234);

    public Benchmark(LanguageModel model) {
        this.model = model;
    }

    private int[] randomTokens(int n) {
        int vocab = model.config().vocabSize();
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(vocab);
        return t;
    }

    /** Prompt processing: a fresh state, one batched forward of {@code n} tokens; one untimed warm-up run first. */
    public Result promptProcessing(int n, int repetitions) {
        ModelState warm = model.newState(n);
        model.forward(warm, randomTokens(n), false);
        double[] tps = new double[repetitions];
        for (int r = 0; r < repetitions; r++) {
            ModelState state = model.newState(n);
            int[] tokens = randomTokens(n);
            long t0 = System.nanoTime();
            model.forward(state, tokens, false);
            long t1 = System.nanoTime();
            tps[r] = n / ((t1 - t0) / 1e9);
        }
        return new Result("pp", n, tps);
    }

    /** Text generation: a fresh state, one warm-up token, then {@code n} timed single-token steps. */
    public Result textGeneration(int n, int repetitions) {
        double[] tps = new double[repetitions];
        int[] one = new int[1];
        for (int r = -1; r < repetitions; r++) { // r = -1 is the untimed warm-up round
            ModelState state = model.newState(n + 1);
            int[] tokens = randomTokens(n + 1);
            one[0] = tokens[0];
            model.forward(state, one, false);
            long t0 = System.nanoTime();
            for (int i = 1; i <= n; i++) {
                one[0] = tokens[i];
                model.forward(state, one, false);
            }
            long t1 = System.nanoTime();
            if (r >= 0) tps[r] = n / ((t1 - t0) / 1e9);
        }
        return new Result("tg", n, tps);
    }

    /** Runs the given pp and tg tests (a value of 0 skips that kind). */
    public List<Result> run(int[] promptSizes, int[] genSizes, int repetitions) {
        List<Result> results = new ArrayList<>();
        for (int p : promptSizes) if (p > 0) results.add(promptProcessing(p, repetitions));
        for (int g : genSizes) if (g > 0) results.add(textGeneration(g, repetitions));
        return results;
    }
}
