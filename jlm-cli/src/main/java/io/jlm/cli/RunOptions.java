package io.jlm.cli;

import picocli.CommandLine.Option;

/** Threads and context size, shared by the commands that run a model interactively (generate, chat). */
final class RunOptions {
    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "Threads; 0 = all cores.")
    int threads;

    @Option(names = {"-c", "--ctx-size"}, defaultValue = "0", description = "Context size; 0 = the model's (at most 4096).")
    int context;
}
