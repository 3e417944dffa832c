package io.jlm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jlm eval ...}: model evaluation. Each evaluation is its own subcommand class. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluates models: perplexity on text, accuracy on synthetic tasks, long-context KV policies, "
                + "split-K attention.",
        subcommands = {
                EvalPplCommand.class,
                EvalTasksCommand.class,
                EvalLongCtxCommand.class,
                EvalSplitKCommand.class,
        })
final class EvalCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }
}
