package io.jlm.cli;

import picocli.CommandLine.Option;

/** Threads and context size, shared by the commands that run a model interactively (generate, chat). */
final class RunOptions {
    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "Threads; 0 = all cores.")
    int threads;

    @Option(names = {"-c", "--ctx-size"}, defaultValue = "0", description = "Context size; 0 = the model's (at most 4096).")
    int context;

    @Option(names = "--kv-policy", defaultValue = "full", paramLabel = "POLICY",
            description = "KV cache policy: full (f16), f32, q8_0, q4_0, sink:4,window:256[,lminf], window:256, "
                    + "h2o:budget=0.2, a2sf:budget=0.2,forget=0.9, keyformer:budget=0.2,tau=1, think:ratio=0.5 "
                    + "(default: ${DEFAULT-VALUE}).")
    String kvPolicy;
}
