package io.jlm.cli;

import io.jlm.engine.ChatMessage;
import io.jlm.engine.ChatSession;
import io.jlm.engine.ChatTemplate;
import io.jlm.engine.GenerationOptions;
import io.jlm.engine.GenerationResult;
import io.jlm.engine.Sampler;
import io.jlm.engine.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Interactive chat on stdin with the model's chat template; /exit or end of input quits, /clear forgets the history.")
final class ChatCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, description = "GGUF model file (default: the embedded shakespeare-char-llama model).")
    Path model;

    @Option(names = "--system", description = "System prompt.")
    String system;

    @Option(names = {"-n", "--n-predict"}, defaultValue = "-1", description = "Most tokens per reply; -1 = until end of turn (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    RunOptions run;

    @Option(names = "--stats", description = "Print timings after every reply (stderr).")
    boolean stats;

    @Mixin
    SamplingOptions sampling;

    @Spec
    CommandSpec spec;

    /** Input source (stdin unless a test sets it). */
    static InputStream input = System.in;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        DefaultModel.adapt(model, run);
        try (LoadedModel lm = LoadedModel.open(DefaultModel.orDefault(model), run.threads)) {
            ChatTemplate template = ChatTemplate.fromGGUF(lm.file.metadata(), lm.tokenizer);
            ChatSession chat = new ChatSession(new Session(KvPolicyModel.of(lm.model, run.kvPolicy), lm.tokenizer,
                    lm.contextSize(run.context)), template);
            if (system != null) chat.add(ChatMessage.system(system));
            Sampler sampler = new Sampler(sampling.toConfig(), lm.model.config().vocabSize());
            BufferedReader in = new BufferedReader(new InputStreamReader(input, StandardCharsets.UTF_8));
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) break;
                if (line.isBlank()) continue;
                if (line.strip().equals("/clear")) {
                    chat.clear();
                    if (system != null) chat.add(ChatMessage.system(system));
                    continue;
                }
                GenerationResult r;
                try {
                    r = chat.respond(line, new GenerationOptions(maxTokens, List.of()), sampler, piece -> {
                        out.print(piece);
                        out.flush();
                    });
                } catch (IllegalArgumentException e) {
                    out.println();
                    err.println("jlm: " + e.getMessage());
                    err.flush();
                    continue;
                }
                out.println();
                out.flush();
                if (stats) {
                    err.println(r.stats().summary() + "\n(reused " + chat.lastReusedTokens() + " cached prompt tokens)");
                    String kv = KvPolicyModel.describe(chat.session().state());
                    if (kv != null) err.println(kv);
                    err.flush();
                }
            }
            out.println();
            out.flush();
        }
        return 0;
    }
}
