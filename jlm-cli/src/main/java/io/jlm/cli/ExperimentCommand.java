package io.jlm.cli;

import io.jlm.eval.experiment.ExperimentRunner;
import io.jlm.eval.experiment.ExperimentSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jlm experiment run SPEC}: architecture comparisons (docs/experiments/README.md). */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = "Trains and compares architectures on synthetic tasks; writes a Markdown report with plots.",
        subcommands = {ExperimentCommand.Run.class})
final class ExperimentCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(spec.commandLine().getErr()); }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Runs an experiment spec (JSON): trains every model on every task under the same budget, "
                    + "scores accuracy per sequence length, times decode per context; writes OUT/report.md, CSVs, PNGs.")
    static final class Run implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SPEC", description = "experiment spec (JSON)")
        Path specFile;

        @Option(names = {"-o", "--out"}, description = "output directory (default: experiments/<name>)")
        Path out;

        @Override
        public Integer call() throws Exception {
            ExperimentSpec spec = ExperimentSpec.read(specFile);
            Path dir = out != null ? out : Path.of("experiments", spec.name());
            String command = "./jlm experiment run " + specFile + " --out " + dir;
            new ExperimentRunner(spec, System.out).run(dir, command);
            return 0;
        }
    }
}
