package io.jlm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jlm tokenizer ...}: tokenizer training and inspection. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Trains byte-level BPE vocabularies and compares encoders.",
        subcommands = {TokenizerTrainCommand.class, TokenizerCompareCommand.class})
final class TokenizerCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }
}
