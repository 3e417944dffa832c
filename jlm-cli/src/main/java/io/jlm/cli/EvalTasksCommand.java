package io.jlm.cli;

import io.jlm.tasks.QuantizedRegressionTask;
import io.jlm.tasks.RegressionEvaluation;
import io.jlm.tasks.Task;
import io.jlm.tasks.TaskScorer;
import io.jlm.tasks.Tasks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code jlm eval tasks -m MODEL --task NAME [-P key=value]...}: accuracy on synthetic tasks. */
@Command(name = "tasks", mixinStandardHelpOptions = true,
        description = "Accuracy of a model on synthetic tasks (teacher-forced argmax at the scored positions). Tasks: "
                + "mqar, copy, induction, selective-copy, passkey, phonebook, regression, passkey-text.")
final class EvalTasksCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, description = "GGUF model file.")
    Path model;

    @Option(names = "--task", split = ",", description = "Task name(s), comma separated.")
    List<String> tasks;

    @Option(names = {"-P", "--param"}, description = "Task parameter key=value (repeatable, applies to every --task), e.g. -P pairs=16.")
    List<String> params = new ArrayList<>();

    @Option(names = "--samples", defaultValue = "100", description = "Examples per task (default ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--list", description = "List the tasks and their parameters with defaults, then exit.")
    boolean list;

    @Option(names = "--gd-steps", defaultValue = "10", description = "regression: gradient-descent baseline steps (default ${DEFAULT-VALUE}).")
    int gdSteps;

    @Option(names = "--gd-lr", defaultValue = "0.1", description = "regression: gradient-descent baseline learning rate (default ${DEFAULT-VALUE}).")
    double gdLr;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "Threads; 0 = all cores.")
    int threads;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (list) {
            for (Map.Entry<String, Map<String, String>> e : Tasks.DEFAULTS.entrySet()) out.printf("%-15s %s%n", e.getKey(), e.getValue());
            out.flush();
            return 0;
        }
        if (model == null) throw new IllegalArgumentException("missing -m/--model (the GGUF model to evaluate)");
        if (tasks == null || tasks.isEmpty()) throw new IllegalArgumentException("missing --task; expected one or more of " + Tasks.names());
        if (samples < 1) throw new IllegalArgumentException("--samples must be >= 1");
        Map<String, String> p = Tasks.parseParams(params);
        try (LoadedModel lm = LoadedModel.open(model, threads)) {
            out.printf("%-15s %8s %9s %9s %9s  %s%n", "task", "examples", "accuracy", "exact", "mean-nll", "configuration");
            for (String name : tasks) {
                Task task = Tasks.create(name.trim(), p, lm.tokenizer);
                TaskScorer.Result r = TaskScorer.score(lm.model, task, samples, seed);
                out.printf("%-15s %8d %9.4f %9.4f %9.4f  %s%n", task.name(), r.examples(), r.accuracy(), r.exactMatch(),
                        r.meanNll(), task);
                if (task instanceof QuantizedRegressionTask q) {
                    double noise = q.regression().noise();
                    double lambda = Math.max(noise * noise, 1e-3);
                    RegressionEvaluation.Curves c = RegressionEvaluation.evaluate(lm.model, q, samples, seed, lambda, gdSteps, gdLr);
                    StringBuilder b = new StringBuilder("  squared error, mean over positions:");
                    for (String k : c.errors().keySet()) b.append(String.format(" %s %.4f;", k, c.mean(k)));
                    out.println(b);
                }
                out.flush();
            }
        }
        return 0;
    }
}
