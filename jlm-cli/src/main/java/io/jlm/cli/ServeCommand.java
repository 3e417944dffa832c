package io.jlm.cli;

import io.jlm.engine.ChatTemplate;
import io.jlm.server.JlmServer;
import io.jlm.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** {@code jlm serve}: the OpenAI-compatible HTTP server with continuous batching. */
@Command(name = "serve", description = "Serves a model over an OpenAI-compatible HTTP API (and a chat page at /).")
final class ServeCommand implements java.util.concurrent.Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}); others need an API key.")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}; 0 = any free port).")
    int port;

    @Option(names = "--api-key", description = "Bearer key every request must carry (default: env JLM_API_KEY).")
    String apiKey;

    @Option(names = {"-np", "--parallel"}, defaultValue = "8", description = "Sequences decoded together (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--queue", defaultValue = "64", description = "Requests that may wait for a slot before 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--prefill-chunk", defaultValue = "256", description = "Prompt tokens per scheduler step (default: ${DEFAULT-VALUE}).")
    int prefillChunk;

    @Option(names = "--max-tokens-limit", defaultValue = "4096", description = "Largest max_tokens accepted (default: ${DEFAULT-VALUE}).")
    int maxTokensLimit;

    @Option(names = "--max-body", defaultValue = "1048576", description = "Largest request body in bytes (default: ${DEFAULT-VALUE}).")
    int maxBody;

    @Option(names = "--kv-blocks", defaultValue = "0", description = "Paged KV blocks; 0 = parallel x context (default: ${DEFAULT-VALUE}).")
    int kvBlocks;

    @Option(names = "--kv-block-size", defaultValue = "16", description = "Positions per KV block (default: ${DEFAULT-VALUE}).")
    int kvBlockSize;

    @Option(names = "--batch-invariant", description = "Results independent of batching (bit-identical; slower single stream).")
    boolean batchInvariant;

    @Mixin
    RunOptions run;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        String key = apiKey != null ? apiKey : System.getenv("JLM_API_KEY");
        try (LoadedModel lm = LoadedModel.open(model, run.threads)) {
            String name = model.getFileName().toString().replaceFirst("\\.gguf$", "");
            ServerOptions o = new ServerOptions(host, port, key, name, lm.contextSize(run.context), parallel, prefillChunk,
                    queue, maxTokensLimit, maxBody, kvBlocks, kvBlockSize, batchInvariant,
                    JlmServer.requestPolicy(run.kvPolicy)); // --kv-policy: the requests' default
            ChatTemplate template = ChatTemplate.fromGGUF(lm.file.metadata(), lm.tokenizer);
            try (JlmServer server = new JlmServer(lm.model, lm.tokenizer, template, o).start()) {
                err.println("jlm: serving " + name + " on http://" + host + ":" + server.port()
                        + "/ (OpenAI API under /v1; " + parallel + " parallel sequences, context " + o.contextSize() + ")");
                err.flush();
                CountDownLatch stop = new CountDownLatch(1);
                Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
                stop.await();
            }
        }
        return 0;
    }
}
