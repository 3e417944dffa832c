package io.jlm.cli;

import io.jlm.tasks.Perplexity;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jlm eval ppl -m MODEL FILE [--ctx N] [--stride S] [--llama-compat]}: perplexity and bits per byte. */
@Command(name = "ppl", mixinStandardHelpOptions = true,
        description = "Perplexity, bits per token and bits per byte of a model on a text file (sliding window, or "
                + "llama-perplexity's chunks with --llama-compat).")
final class EvalPplCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;

    @Parameters(index = "0", paramLabel = "FILE", description = "UTF-8 text file.")
    Path file;

    @Option(names = {"-c", "--ctx"}, defaultValue = "0", description = "Window length in tokens; 0 = the model's context, at most 512.")
    int ctx;

    @Option(names = "--stride", defaultValue = "0", description = "Tokens between window starts (< ctx); 0 = ctx/2.")
    int stride;

    @Option(names = "--llama-compat", description = "llama-perplexity's method: disjoint chunks of ctx tokens, BOS first, second half scored.")
    boolean llamaCompat;

    @Option(names = "--chunks", defaultValue = "0", description = "Evaluate at most this many windows/chunks; 0 = all.")
    int chunks;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "Threads; 0 = all cores.")
    int threads;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try (LoadedModel lm = LoadedModel.open(model, threads)) {
            int c = ctx > 0 ? ctx : Math.min(512, lm.contextSize(0));
            int s = stride > 0 ? stride : Math.max(1, c / 2);
            Perplexity.Options o = new Perplexity.Options(c, s, llamaCompat ? Perplexity.Mode.LLAMA_CPP : Perplexity.Mode.SLIDING, chunks);
            long t0 = System.nanoTime();
            Perplexity.Result r = Perplexity.evaluate(lm.model, lm.tokenizer, text, o, (done, total, soFar) -> {
                if (done == total || done % 10 == 0) {
                    err.printf("\r[%d/%d] ppl %.4f", done, total, soFar.perplexity());
                    err.flush();
                }
            });
            double secs = (System.nanoTime() - t0) / 1e9;
            err.printf("%n");
            err.flush();
            out.printf("mode %s, ctx %d%s, %d windows, %d tokens scored, %d bytes, %.1f s%n",
                    llamaCompat ? "llama-compat" : "sliding", c, llamaCompat ? "" : ", stride " + s, r.windows(), r.tokens(),
                    r.bytes(), secs);
            out.printf("perplexity %.4f +/- %.4f%n", r.perplexity(), r.perplexityError());
            out.printf("bits/token %.4f, bits/byte %.4f%n", r.bitsPerToken(), r.bitsPerByte());
            out.flush();
        }
        return 0;
    }
}
