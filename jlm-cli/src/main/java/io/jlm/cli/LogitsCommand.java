package io.jlm.cli;

import io.jlm.models.ModelState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code jlm logits -m MODEL --tokens 1,2,3 [--last] -o FILE}: evaluates the tokens in one batched forward call and
 * writes the logits of every position (or only the last) as raw little-endian float32, n_vocab per row.
 * External tools rely on this form: keep it exactly.
 */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Writes the logits of every prompt position (or only the last) as raw little-endian float32, n_vocab per row.")
final class LogitsCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;

    @Option(names = "--tokens", required = true, split = ",", description = "Token ids, comma separated.")
    int[] tokens;

    @Option(names = "--last", description = "Only the last position's logits.")
    boolean last;

    @Option(names = {"-o", "--output"}, required = true, description = "Output file.")
    Path output;

    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "Threads; 0 = all cores.")
    int threads;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (tokens.length == 0) throw new IllegalArgumentException("--tokens: no token ids");
        try (LoadedModel lm = LoadedModel.open(model, threads, false)) {
            int vocab = lm.model.config().vocabSize();
            for (int t : tokens) {
                if (t < 0 || t >= vocab) throw new IllegalArgumentException("--tokens: id " + t + " outside the vocabulary [0, " + vocab + ")");
            }
            ModelState state = lm.model.newState(tokens.length);
            float[] logits = lm.model.forward(state, tokens, !last);
            int rows = last ? 1 : tokens.length;
            if (logits.length != (long) rows * vocab) {
                throw new IllegalStateException("model returned " + logits.length + " logits, expected " + rows + " x " + vocab);
            }
            ByteBuffer buf = ByteBuffer.allocate(vocab * 4).order(ByteOrder.LITTLE_ENDIAN);
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(output), 1 << 16)) {
                for (int r = 0; r < rows; r++) {
                    buf.clear();
                    buf.asFloatBuffer().put(logits, r * vocab, vocab);
                    os.write(buf.array(), 0, vocab * 4);
                }
            }
            spec.commandLine().getErr().printf("wrote %d x %d logits to %s%n", rows, vocab, output);
            spec.commandLine().getErr().flush();
        }
        return 0;
    }
}
