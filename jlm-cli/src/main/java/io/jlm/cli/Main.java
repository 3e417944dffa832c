package io.jlm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** The {@code jlm} command line. */
@Command(name = "jlm", mixinStandardHelpOptions = true, version = "jlm 0.1.0",
        description = "Runs GGUF language models on the JVM.",
        subcommands = {
                GenerateCommand.class,
                ChatCommand.class,
                InfoCommand.class,
                TokenizeCommand.class,
                LogitsCommand.class,
                BenchCommand.class,
                SynthCommand.class,
                TrainCommand.class,
                TokenizerCommand.class,
                EvalCommand.class,
                ExperimentCommand.class,
                ServeCommand.class,
                ServeBenchCommand.class,
        })
public final class Main implements Runnable {

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    /** A configured command line (errors: one line "jlm: message", exit code 1; stack trace only with --debug). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::handleError);
        return cl;
    }

    public static void main(String[] args) {
        CommandLine cl = commandLine();
        cl.setOut(new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8), true));
        int rc = cl.execute(args);
        cl.getOut().flush();
        cl.getErr().flush();
        System.exit(rc);
    }

    private static int handleError(Exception ex, CommandLine cl, ParseResult parsed) {
        boolean debug = false;
        for (ParseResult pr = parsed; pr != null; pr = pr.subcommand()) {
            if (pr.hasMatchedOption("--debug")) debug = true;
        }
        PrintWriter err = cl.getErr();
        cl.getOut().flush();
        err.println("jlm: " + describe(ex));
        if (debug) ex.printStackTrace(err);
        err.flush();
        return 1;
    }

    static String describe(Throwable ex) {
        String m = ex.getMessage();
        if (m == null || m.isBlank()) {
            Throwable c = ex.getCause();
            return c != null && c != ex ? describe(c) : ex.getClass().getSimpleName();
        }
        return m;
    }
}
