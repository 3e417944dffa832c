package io.jlm.cli;

import io.jlm.core.tensor.GGMLType;
import io.jlm.eval.SplitKBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jlm eval splitk}: split-K decode attention micro benchmark. */
@Command(name = "splitk", mixinStandardHelpOptions = true,
        description = "Micro benchmark: split-K decode attention on N threads vs the single-threaded single pass.")
final class EvalSplitKCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Option(names = "--ctx", defaultValue = "32768", description = "Context length (default ${DEFAULT-VALUE}).")
    int context;
    @Option(names = "--heads", defaultValue = "1", description = "Query (= KV) heads attended per step (default ${DEFAULT-VALUE}).")
    int heads;
    @Option(names = "--head-dim", defaultValue = "128", description = "Head dimension (default ${DEFAULT-VALUE}).")
    int headDim;
    @Option(names = {"-t", "--threads"}, defaultValue = "2", description = "Threads of the split pass (default ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--type", defaultValue = "f32", description = "Cache type f32, q8_0 or q4_0 (default ${DEFAULT-VALUE}).")
    String type;
    @Option(names = {"-r", "--iterations"}, defaultValue = "100", description = "Timed iterations (default ${DEFAULT-VALUE}).")
    int iterations;

    @Override
    public Integer call() {
        SplitKBench.Result r = SplitKBench.run(GGMLType.parse(type), context, heads, headDim, threads, iterations);
        java.io.PrintWriter out = spec.commandLine().getOut();
        out.println("| cache | context | heads | head dim | threads | splits | single pass ms | split-K ms | speed-up | split-K 1 thread ms | thread scaling | max rel diff |");
        out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        out.printf(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %.3f | %.3f | %.2fx | %.3f | %.2fx | %.1e |%n", r.cacheType(),
                r.context(), r.heads(), r.headDim(), r.threads(), r.splits(), r.singleMs(), r.splitMs(), r.speedup(), r.splitOneThreadMs(), r.threadScaling(),
                r.maxRelDiff());
        out.flush();
        return 0;
    }
}
