package io.jlm.cli;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.synth.SyntheticModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Writes a random-weight GGUF model of a given shape and weight type (for tests and benchmarks).")
public final class SynthCommand implements Callable<Integer> {

    @Option(names = {"-o", "--output"}, required = true, description = "output GGUF file")
    Path output;

    @Option(names = "--type", defaultValue = "q8_0", description = "weight type: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k (default ${DEFAULT-VALUE})")
    String type;

    @Option(names = "--preset", description = "named shape: '1b' = dim 2048, 16 layers, 32 heads, 8 KV heads, FFN 5632, vocab 32000")
    String preset;

    @Option(names = "--arch", defaultValue = "llama", description = "architecture: llama or qwen2 (default ${DEFAULT-VALUE})")
    String arch;

    @Option(names = "--dim", defaultValue = "256") int dim;
    @Option(names = "--layers", defaultValue = "2") int layers;
    @Option(names = "--heads", defaultValue = "8") int heads;
    @Option(names = "--kv-heads", defaultValue = "2") int kvHeads;
    @Option(names = "--ffn", defaultValue = "768") int ffn;
    @Option(names = "--vocab", defaultValue = "512") int vocab;
    @Option(names = "--context", defaultValue = "4096") int context;
    @Option(names = "--seed", defaultValue = "42") long seed;
    @Option(names = {"-t", "--threads"}, description = "threads (default: all cores)") Integer threads;

    @Override
    public Integer call() throws Exception {
        GGMLType t = GGMLType.parse(type);
        SyntheticModel.Spec spec;
        if (preset != null) {
            if (!preset.equalsIgnoreCase("1b")) throw new IllegalArgumentException("unknown preset '" + preset + "'; expected 1b");
            SyntheticModel.Spec b = SyntheticModel.Spec.oneB(t);
            spec = new SyntheticModel.Spec(arch, b.dim(), b.layers(), b.heads(), b.kvHeads(), b.ffn(), b.vocab(), b.context(), t, seed);
        } else {
            spec = new SyntheticModel.Spec(arch, dim, layers, heads, kvHeads, ffn, vocab, context, t, seed);
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        long t0 = System.nanoTime();
        try (ThreadPool pool = new ThreadPool(n)) {
            SyntheticModel.write(spec, output, pool);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.err.printf("jlm: wrote %s (%s, %.2fM parameters, %.1f MB) in %.1f s%n", output, t,
                spec.parameters() / 1e6, Files.size(output) / 1e6, s);
        return 0;
    }
}
