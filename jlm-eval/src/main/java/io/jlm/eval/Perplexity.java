package io.jlm.eval;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;

/** Per-position negative log-likelihood of a token sequence under a model state. */
public final class Perplexity {
    private Perplexity() {}

    /**
     * Feeds {@code tokens} through {@code state} (forward calls of at most {@code step} tokens, all logits) and returns
     * {@code nll[i]} = -log p(tokens[i+1] | tokens[0..i]) for i in [0, n-1).
     */
    public static double[] nll(LanguageModel model, ModelState state, int[] tokens, int step) {
        int n = tokens.length, vocab = model.config().vocabSize();
        double[] out = new double[n - 1];
        for (int s = 0; s < n; s += step) {
            int b = Math.min(step, n - s);
            int[] chunk = java.util.Arrays.copyOfRange(tokens, s, s + b);
            float[] logits = model.forward(state, chunk, true);
            for (int r = 0; r < b; r++) {
                int i = s + r;
                if (i + 1 >= n) break;
                out[i] = -logSoftmax(logits, r * vocab, vocab, tokens[i + 1]);
            }
        }
        return out;
    }

    /** log softmax(row)[target] in float64. */
    static double logSoftmax(float[] logits, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
        return logits[off + target] - max - Math.log(sum);
    }

    /** exp(mean(nll[from .. to))). */
    public static double ppl(double[] nll, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += nll[i];
        return Math.exp(s / (to - from));
    }
}
