package io.jlm.cli;

import io.jlm.engine.GenerationOptions;
import io.jlm.engine.GenerationResult;
import io.jlm.engine.Sampler;
import io.jlm.engine.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "Continues a prompt, streaming the text.")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, description = "GGUF model file (default: the embedded shakespeare-char-llama model).")
    Path model;

    @Option(names = {"-p", "--prompt"}, defaultValue = "", description = "Prompt text (special tokens are parsed).")
    String prompt;

    @Option(names = {"-n", "--n-predict"}, defaultValue = "-1", description = "Tokens to generate; -1 = until end of text or full context (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--stop", description = "Stop when this text appears (repeatable); it is not printed.")
    List<String> stop = new ArrayList<>();

    @Mixin
    RunOptions run;

    @Option(names = "--no-display-prompt", description = "Do not print the prompt before the continuation.")
    boolean noDisplayPrompt;

    @Mixin
    SamplingOptions sampling;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        DefaultModel.adapt(model, run);
        try (LoadedModel lm = LoadedModel.open(DefaultModel.orDefault(model), run.threads)) {
            int[] tokens = lm.tokenizer.encode(prompt, true, true);
            if (tokens.length == 0) throw new IllegalArgumentException("empty prompt and the vocabulary adds no BOS token: give a prompt with -p");
            Session session = new Session(KvPolicyModel.of(lm.model, run.kvPolicy), lm.tokenizer, lm.contextSize(run.context));
            Sampler sampler = new Sampler(sampling.toConfig(), lm.model.config().vocabSize());
            if (!noDisplayPrompt) {
                out.print(prompt);
                out.flush();
            }
            GenerationResult r = session.generate(tokens, new GenerationOptions(maxTokens, stop), sampler, piece -> {
                out.print(piece);
                out.flush();
            });
            out.println();
            out.flush();
            err.println(r.stats().summary());
            String kv = KvPolicyModel.describe(session.state());
            if (kv != null) err.println(kv);
            err.println("stopped: " + r.stopReason().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
            err.flush();
        }
        return 0;
    }
}
