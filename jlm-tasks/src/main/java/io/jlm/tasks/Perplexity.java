package io.jlm.tasks;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.tokenizers.Tokenizer;

import java.util.function.IntUnaryOperator;

/**
 * Perplexity and bits per byte of a {@link LanguageModel} on a token sequence.
 *
 * <p>{@link Mode#SLIDING} (the Hugging Face "strided" evaluation): windows of {@code context} tokens start every
 * {@code stride} tokens ({@code 0, stride, 2 stride, ...}, the last one ending at the last token); each window is run
 * from an empty state and scores only the tokens no earlier window scored, so every token except the first is
 * scored exactly once, with at least {@code context - stride} tokens of context (all earlier tokens in the first
 * window). The stride is at most {@code context - 1}: consecutive windows overlap by at least one token, since a
 * window's first token cannot be predicted inside it ({@code stride = context - 1} is the cheapest setting).
 *
 * <p>{@link Mode#LLAMA_CPP} reproduces {@code llama-perplexity}: the sequence is cut into
 * {@code floor(n / context)} disjoint chunks; the first token of each chunk is replaced by BOS when the vocabulary adds
 * BOS; in each chunk only the second half is scored (the predictions from positions
 * {@code context/2 .. context-2}, i.e. {@code context - 1 - context/2} tokens per chunk), so every scored token has at
 * least {@code context/2} tokens of context.
 *
 * <p>Perplexity is {@code exp(mean NLL)} over the scored tokens; bits per byte is the total NLL in bits divided by the
 * UTF-8 bytes of the scored tokens (a tokenizer-independent measure).
 */
public final class Perplexity {
    private Perplexity() {}

    public enum Mode { SLIDING, LLAMA_CPP }

    /**
     * @param context    window (chunk) length in tokens, >= 2
     * @param stride     SLIDING: tokens between window starts, in [1, context - 1]; ignored by LLAMA_CPP
     * @param maxWindows evaluate at most this many windows (chunks); <= 0 for all
     */
    public record Options(int context, int stride, Mode mode, int maxWindows) {
        public Options {
            if (context < 2) throw new IllegalArgumentException("perplexity: context " + context + " must be >= 2");
            if (mode == Mode.SLIDING && (stride < 1 || stride >= context)) {
                throw new IllegalArgumentException("perplexity: stride " + stride + " must be in [1, context - 1 = " + (context - 1)
                        + "] (windows overlap by at least one token)");
            }
        }

        public static Options sliding(int context, int stride) { return new Options(context, stride, Mode.SLIDING, 0); }
        public static Options llamaCpp(int context) { return new Options(context, context, Mode.LLAMA_CPP, 0); }
    }

    /**
     * @param tokens  number of scored tokens
     * @param nll     sum of their negative log-likelihoods (nats)
     * @param nll2    sum of squared negative log-likelihoods (for the standard error)
     * @param bytes   UTF-8 bytes of the scored tokens
     * @param windows windows (chunks) evaluated
     */
    public record Result(long tokens, double nll, double nll2, long bytes, int windows) {
        public double meanNll() { return nll / tokens; }
        public double perplexity() { return Math.exp(meanNll()); }
        public double bitsPerToken() { return meanNll() / Math.log(2); }
        public double bitsPerByte() { return bytes == 0 ? Double.NaN : nll / Math.log(2) / bytes; }

        /** Standard error of the perplexity (as llama-perplexity prints it: ppl * stderr of the mean NLL). */
        public double perplexityError() {
            if (tokens < 2) return Double.NaN;
            double m = meanNll();
            double var = nll2 / tokens - m * m;
            return var > 0 ? perplexity() * Math.sqrt(var / (tokens - 1)) : 0;
        }
    }

    /** Called after every window with the totals so far. */
    @FunctionalInterface
    public interface Progress {
        void update(int windowsDone, int windowsTotal, Result soFar);
    }

    /** Number of windows the options give for {@code n} tokens. */
    public static int windows(int n, Options o) {
        int w;
        if (o.mode() == Mode.LLAMA_CPP) {
            w = n / o.context();
        } else {
            w = n <= o.context() ? 1 : 1 + (n - o.context() + o.stride() - 1) / o.stride();
        }
        return o.maxWindows() > 0 ? Math.min(w, o.maxWindows()) : w;
    }

    /**
     * Evaluates a text: it is encoded with the tokenizer's special-token rules (BOS where the vocabulary adds one, as
     * llama-perplexity does; special-token text is not parsed).
     */
    public static Result evaluate(LanguageModel model, Tokenizer tokenizer, String text, Options o, Progress progress) {
        int[] tokens = tokenizer.encode(text, true, false);
        int[] empty = tokenizer.encode("", true, false);
        boolean addsBos = tokenizer.bos() >= 0 && empty.length > 0 && empty[0] == tokenizer.bos();
        return evaluate(model, tokens, id -> tokenizer.tokenBytes(id).length, addsBos ? tokenizer.bos() : -1, o, progress);
    }

    /**
     * Evaluates a token sequence.
     * @param tokenBytes UTF-8 byte length of a token id (for bits per byte)
     * @param bos        the BOS id that LLAMA_CPP mode puts at the start of every chunk, or -1 for none
     */
    public static Result evaluate(LanguageModel model, int[] tokens, IntUnaryOperator tokenBytes, int bos, Options o,
                                  Progress progress) {
        int n = tokens.length;
        int ctx = o.context();
        if (o.mode() == Mode.LLAMA_CPP && n < ctx) {
            throw new IllegalArgumentException("perplexity: " + n + " tokens are fewer than one chunk of " + ctx + " tokens");
        }
        if (n < 2) throw new IllegalArgumentException("perplexity: need at least 2 tokens, got " + n);
        int vocab = model.config().vocabSize();
        for (int i = 0; i < n; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("perplexity: token " + tokens[i] + " at " + i + " is outside the model's vocabulary [0, " + vocab + ")");
            }
        }
        int total = windows(n, o);
        double[] acc = new double[2];
        long[] cnt = new long[2];
        ModelState state = null;
        int[] window = new int[Math.min(ctx, n)];
        int prevEnd = 0;
        for (int w = 0; w < total; w++) {
            int begin, end, scoreFrom; // absolute token indices; scored targets are tokens[scoreFrom .. end)
            if (o.mode() == Mode.LLAMA_CPP) {
                begin = w * ctx;
                end = begin + ctx;
                scoreFrom = begin + ctx / 2 + 1;
            } else {
                begin = w * o.stride();
                end = Math.min(begin + ctx, n);
                scoreFrom = Math.max(prevEnd, begin + 1);
                prevEnd = end;
            }
            int len = end - begin;
            System.arraycopy(tokens, begin, window, 0, len);
            if (o.mode() == Mode.LLAMA_CPP && bos >= 0) window[0] = bos;
            state = LogitRows.fresh(model, state, ctx);
            final int b = begin;
            // the logits after window position p predict tokens[b + p + 1]
            LogitRows.run(model, state, window, 0, len - 1, scoreFrom - 1 - begin, (p, row, off, v) -> {
                int target = tokens[b + p + 1];
                double nll = -LogitRows.logProb(row, off, v, target);
                acc[0] += nll;
                acc[1] += nll * nll;
                cnt[0]++;
                cnt[1] += tokenBytes.applyAsInt(target);
            });
            if (progress != null) progress.update(w + 1, total, new Result(cnt[0], acc[0], acc[1], cnt[1], w + 1));
        }
        return new Result(cnt[0], acc[0], acc[1], cnt[1], total);
    }
}
