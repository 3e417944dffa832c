package io.jlm.eval;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;
import io.jlm.train.AdamW;
import io.jlm.train.GgufExport;
import io.jlm.train.Model;
import io.jlm.train.ModelConfig;
import io.jlm.train.Rng;
import io.jlm.train.TrainConfig;
import io.jlm.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.TreeSet;

/**
 * The {@code passkey-char} training recipe: a character-level llama model trained on exactly the passkey prompts of
 * {@link Passkey} (filler text, a needle with a random 5-digit key at a random depth, the question) to answer the key,
 * at prompt lengths up to its context. It gives {@code jlm eval longctx} a model that can retrieve a passkey, so KV
 * policies can be compared on retrieval (a policy that evicts the needle loses the answer).
 */
public final class PasskeyTraining {
    private PasskeyTraining() {}

    /** Every character a passkey prompt or answer can contain. */
    static String alphabet() {
        String all = Passkey.FILLER + Passkey.NEEDLE_PARTS + Passkey.QUESTION + "0123456789";
        TreeSet<Integer> cps = new TreeSet<>();
        all.codePoints().forEach(cps::add);
        StringBuilder sb = new StringBuilder();
        for (int cp : cps) sb.appendCodePoint(cp);
        return sb.toString();
    }

    /**
     * Trains for {@code steps} steps (batch 16, context {@code context} characters; prompts from the shortest with some filler
     * up to the context) and writes {@code out/model.gguf} (llama, 4 layers, 4 heads, 64 dims, SwiGLU 192) and {@code out/loss.csv}.
     */
    public static Path run(Path out, int steps, int context, int threads, long seed, PrintStream log) throws IOException {
        Files.createDirectories(out);
        String chars = alphabet();
        String[] tokens = GgufExport.charVocabulary(chars);
        Path vocab = out.resolve("tokenizer.gguf");
        GgufExport.writeTokenizer(tokens, vocab);
        Tokenizer tok = Tokenizers.fromGGUF(vocab);
        int minLen = Passkey.minimumLength(tok) + 8, answerMax = Passkey.make(tok, minLen, new Random(1)).answer().length + 2;
        if (context < minLen + answerMax)
            throw new IllegalArgumentException("passkey-char: context " + context + " is shorter than a passkey prompt and answer ("
                    + (minLen + answerMax) + " characters)");
        ModelConfig mc = ModelConfig.llama(tokens.length, context, 4, 4, 64, 192);
        TrainConfig tc = new TrainConfig(steps, 16, 2e-3, 2e-4, 50, steps, 0.9, 0.99, 0.1, 1.0, steps, 1, seed, threads);
        Model model = new Model(mc, seed);
        Trainer.BatchSource src = (rng, ids, targets) -> {
            int t = context;
            for (int row = 0; row < ids.length / t; row++) {
                int len = minLen + rng.nextInt(t - answerMax - minLen + 1);
                Passkey.Case c = Passkey.make(tok, len, new Random(rng.nextLong()));
                int p = c.prompt().length, a = c.answer().length, o = row * t;
                Arrays.fill(ids, o, o + t, 0);
                Arrays.fill(targets, o, o + t, -1);
                System.arraycopy(c.prompt(), 0, ids, o, p);
                System.arraycopy(c.answer(), 0, ids, o + p, a);
                for (int i = 0; i < a; i++) targets[o + p - 1 + i] = c.answer()[i];
            }
        };
        try (ThreadPool pool = new ThreadPool(threads); var csv = Files.newBufferedWriter(out.resolve("loss.csv"))) {
            Trainer tr = new Trainer(model, tc, src, null, pool, new AdamW(model.params(), 0.9, 0.99, 1e-8, 0.1));
            log.printf("passkey-char: llama %d layers, %d heads, %d dims, context %d, vocabulary %d: %,d parameters; %d steps of 16%n",
                    mc.nLayer(), mc.nHead(), mc.nEmbd(), context, mc.vocab(), model.parameterCount(), steps);
            csv.write("step,loss\n");
            double smooth = Double.NaN;
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                float l = tr.step();
                smooth = Double.isNaN(smooth) ? l : 0.95 * smooth + 0.05 * l;
                csv.write(i + "," + l + "\n");
                if ((i + 1) % Math.max(1, steps / 10) == 0)
                    log.printf("  step %d: answer loss %.4f (%.0f s)%n", i + 1, smooth, (System.nanoTime() - t0) / 1e9);
            }
        }
        Path gguf = out.resolve("model.gguf");
        GgufExport.write(model, tokens, "passkey-char", gguf);
        log.printf("exported %s%n", gguf);
        return gguf;
    }
}
