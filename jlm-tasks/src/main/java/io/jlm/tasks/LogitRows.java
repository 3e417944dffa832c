package io.jlm.tasks;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;

/** Runs token spans through a model in bounded pieces and hands out the logit rows that are needed. */
final class LogitRows {
    private LogitRows() {}

    /** Receives the logits after position {@code pos} ({@code row[off .. off + vocab)}). */
    @FunctionalInterface
    interface Sink {
        void row(int pos, float[] row, int off, int vocab);
    }

    /** At most this many floats of logits per forward call (bounds memory for large vocabularies). */
    static final int MAX_LOGIT_FLOATS = 1 << 24;

    /**
     * Appends {@code tokens[from, to)} to {@code state} and calls {@code sink} for every position
     * {@code p in [needFrom, to)} (absolute indices into tokens), in order.
     */
    static void run(LanguageModel model, ModelState state, int[] tokens, int from, int to, int needFrom, Sink sink) {
        int vocab = model.config().vocabSize();
        int piece = Math.max(1, Math.min(512, MAX_LOGIT_FLOATS / Math.max(1, vocab)));
        for (int s = from; s < to; ) {
            int e = Math.min(to, s + piece);
            int[] chunk = java.util.Arrays.copyOfRange(tokens, s, e);
            boolean need = e > needFrom;
            float[] logits = model.forward(state, chunk, need);
            if (need) {
                for (int p = Math.max(s, needFrom); p < e; p++) sink.row(p, logits, (p - s) * vocab, vocab);
            }
            s = e;
        }
    }

    /** A state at position 0: {@code old} rewound when it can be and is large enough, else a new one. */
    static ModelState fresh(LanguageModel model, ModelState old, int capacity) {
        if (old != null && old.capacity() >= capacity) {
            try {
                old.rewind(0);
                return old;
            } catch (UnsupportedOperationException e) {
                // fall through: a new state
            }
        }
        return model.newState(capacity);
    }

    /** {@code log softmax(row)[target]}, accumulated in double. */
    static double logProb(float[] row, int off, int vocab, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, row[off + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(row[off + i] - max);
        return row[off + target] - max - Math.log(sum);
    }

    /** Index of the largest logit (the first on ties). */
    static int argmax(float[] row, int off, int vocab) {
        int best = 0;
        float bv = row[off];
        for (int i = 1; i < vocab; i++) {
            if (row[off + i] > bv) { bv = row[off + i]; best = i; }
        }
        return best;
    }
}
