package io.jlm.cli;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.engine.bench.Benchmark;
import io.jlm.engine.bench.Comparison;
import io.jlm.engine.bench.LlamaBench;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measures prompt processing (pp) and text generation (tg) speed, llama-bench style.")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file")
    Path model;

    @Option(names = {"-p", "--n-prompt"}, split = ",", defaultValue = "512", description = "prompt sizes (comma separated; 0 = none; default ${DEFAULT-VALUE})")
    int[] prompt;

    @Option(names = {"-n", "--n-gen"}, split = ",", defaultValue = "128", description = "generation lengths (default ${DEFAULT-VALUE})")
    int[] gen;

    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", description = "repetitions per test (default ${DEFAULT-VALUE})")
    int repetitions;

    @Option(names = {"-t", "--threads"}, split = ",", description = "thread counts (comma separated; default: all cores)")
    int[] threads;

    @Option(names = {"-o", "--output"}, defaultValue = "md", description = "md or json (default ${DEFAULT-VALUE}; comparisons print md)")
    String output;

    @Option(names = "--compare-llama-bench", paramLabel = "PATH",
            description = "also run this llama-bench binary on the same model and tests, alternating with jlm, and print jlm/llama.cpp ratios")
    Path llamaBench;

    @Option(names = "--kv-policy", defaultValue = "full", paramLabel = "POLICY",
            description = "KV cache policy of the benchmarked states (see generate --help; default ${DEFAULT-VALUE})")
    String kvPolicy;

    @Option(names = "--rounds", defaultValue = "3", description = "rounds of the jlm/llama-bench alternation for --compare-llama-bench (default ${DEFAULT-VALUE})")
    int rounds;

    @Override
    public Integer call() throws Exception {
        if (repetitions < 1) throw new IllegalArgumentException("--repetitions must be >= 1");
        if (!output.equals("md") && !output.equals("json")) throw new IllegalArgumentException("--output must be md or json, got " + output);
        int[] ts = threads != null ? threads : new int[]{Runtime.getRuntime().availableProcessors()};
        for (int t : ts) if (t < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + t);
        if (llamaBench != null) return compare(ts);
        long size = Files.size(model);
        List<String> rows = new ArrayList<>();
        if (output.equals("md")) {
            System.out.println("| model | size | params | backend | threads | test | t/s |");
            System.out.println("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
        }
        String name = model.getFileName().toString();
        for (int t : ts) {
            for (Benchmark.Result r : runJlm(t, prompt, gen)) {
                if (output.equals("md")) {
                    System.out.printf(Locale.ROOT, "| %s | %.2f GiB | %s | java-vector | %d | %s | %.2f ± %.2f |%n",
                            name, size / (double) (1L << 30), "-", t, r.name(), r.mean(), r.stddev());
                } else {
                    StringBuilder samples = new StringBuilder();
                    for (double v : r.tokensPerSecond()) samples.append(samples.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "%.4f", v));
                    rows.add(String.format(Locale.ROOT,
                            "{\"model\":\"%s\",\"size\":%d,\"threads\":%d,\"test\":\"%s\",\"n_prompt\":%d,\"n_gen\":%d,\"avg_ts\":%.4f,\"stddev_ts\":%.4f,\"samples_ts\":[%s]}",
                            name.replace("\"", "\\\""), size, t, r.name(), r.test().equals("pp") ? r.tokens() : 0,
                            r.test().equals("tg") ? r.tokens() : 0, r.mean(), r.stddev(), samples));
                }
                System.out.flush();
            }
        }
        if (output.equals("json")) System.out.println("[\n  " + String.join(",\n  ", rows) + "\n]");
        return 0;
    }

    /** Loads the model with {@code t} threads and runs the given tests. */
    private List<Benchmark.Result> runJlm(int t, int[] promptSizes, int[] genSizes) throws Exception {
        try (ThreadPool pool = new ThreadPool(t); LanguageModel lm = KvPolicyModel.of(Models.load(model, pool), kvPolicy)) {
            List<Benchmark.Result> results = new Benchmark(lm).run(promptSizes, genSizes, repetitions);
            if (lm instanceof KvPolicyModel pm && pm.lastState() != null) {
                System.err.println(KvPolicyModel.describe(pm.lastState()));
            }
            return results;
        }
    }

    /** --compare-llama-bench: rounds of (jlm all tests, then llama-bench all tests), ratios per round, medians. */
    private int compare(int[] ts) throws Exception {
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        if (!Files.isExecutable(llamaBench)) {
            throw new IllegalArgumentException("--compare-llama-bench: " + llamaBench + " is not an executable file");
        }
        int[] pp = Arrays.stream(prompt).filter(v -> v > 0).toArray();
        int[] tg = Arrays.stream(gen).filter(v -> v > 0).toArray();
        Comparison cmp = new Comparison();
        System.out.printf(Locale.ROOT, "comparing jlm with %s on %s, %d round(s), %d repetition(s) per test%n",
                llamaBench, model, rounds, repetitions);
        for (String c : llamaCommands(pp, tg, ts)) System.out.println("llama-bench command: " + c);
        for (int round = 1; round <= rounds; round++) {
            Map<Comparison.Key, Double> jlm = new LinkedHashMap<>();
            for (int t : ts) {
                for (Benchmark.Result r : runJlm(t, pp, tg)) jlm.put(new Comparison.Key(r.name(), t), r.mean());
            }
            List<LlamaBench.Entry> llama = new ArrayList<>();
            if (pp.length > 0) llama.addAll(LlamaBench.run(LlamaBench.command(llamaBench, model, true, pp, ts, repetitions)));
            if (tg.length > 0) llama.addAll(LlamaBench.run(LlamaBench.command(llamaBench, model, false, tg, ts, repetitions)));
            System.out.printf(Locale.ROOT, "%nround %d/%d%n", round, rounds);
            System.out.println("| test | threads | jlm t/s | llama.cpp t/s | jlm/llama.cpp |");
            System.out.println("| --- | ---: | ---: | ---: | ---: |");
            for (Comparison.Sample s : cmp.addRound(jlm, llama)) {
                System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.3f |%n",
                        s.key().test(), s.key().threads(), s.jlm(), s.llama(), s.ratio());
            }
            System.out.flush();
        }
        System.out.printf(Locale.ROOT, "%nsummary over %d round(s) (medians; ratio range in brackets)%n", cmp.rounds());
        System.out.println("| test | threads | jlm t/s | llama.cpp t/s | jlm/llama.cpp |");
        System.out.println("| --- | ---: | ---: | ---: | ---: |");
        for (Comparison.Summary s : cmp.summary()) {
            System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.3f [%.3f..%.3f] |%n", s.key().test(), s.key().threads(),
                    s.medianJlm(), s.medianLlama(), s.medianRatio(), s.minRatio(), s.maxRatio());
        }
        return 0;
    }

    private List<String> llamaCommands(int[] pp, int[] tg, int[] ts) {
        List<String> out = new ArrayList<>();
        if (pp.length > 0) out.add(String.join(" ", LlamaBench.command(llamaBench, model, true, pp, ts, repetitions)));
        if (tg.length > 0) out.add(String.join(" ", LlamaBench.command(llamaBench, model, false, tg, ts, repetitions)));
        return out;
    }
}
