package io.jlm.cli;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.engine.bench.Benchmark;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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

    @Option(names = {"-o", "--output"}, defaultValue = "md", description = "md or json (default ${DEFAULT-VALUE})")
    String output;

    @Override
    public Integer call() throws Exception {
        if (repetitions < 1) throw new IllegalArgumentException("--repetitions must be >= 1");
        if (!output.equals("md") && !output.equals("json")) throw new IllegalArgumentException("--output must be md or json, got " + output);
        int[] ts = threads != null ? threads : new int[]{Runtime.getRuntime().availableProcessors()};
        long size = Files.size(model);
        List<String> rows = new ArrayList<>();
        if (output.equals("md")) {
            System.out.println("| model | size | params | backend | threads | test | t/s |");
            System.out.println("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
        }
        for (int t : ts) {
            try (ThreadPool pool = new ThreadPool(t); LanguageModel lm = Models.load(model, pool)) {
                Benchmark bench = new Benchmark(lm);
                String name = model.getFileName().toString();
                for (Benchmark.Result r : bench.run(prompt, gen, repetitions)) {
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
        }
        if (output.equals("json")) System.out.println("[\n  " + String.join(",\n  ", rows) + "\n]");
        return 0;
    }
}
