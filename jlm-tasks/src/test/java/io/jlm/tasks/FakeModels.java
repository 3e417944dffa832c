package io.jlm.tasks;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelState;

import java.util.Arrays;
import java.util.function.BiConsumer;

/** Tiny LanguageModels whose predictions are given by a rule over the tokens in their state. */
final class FakeModels {
    private FakeModels() {}

    /** Fills logits (length vocab) for the next token after {@code seen[0 .. n)}. */
    interface Rule {
        void logits(int[] seen, int n, float[] out);
    }

    static final class State implements ModelState {
        final int[] seen;
        int n;
        State(int cap) { seen = new int[cap]; }
        @Override public int position() { return n; }
        @Override public int capacity() { return seen.length; }
        @Override public void rewind(int position) { n = position; }
        @Override public long bytes() { return seen.length * 4L; }
    }

    static LanguageModel model(int vocab, Rule rule) {
        return new LanguageModel() {
            @Override public ModelConfig config() { return new ModelConfig("fake", "fake", 8, 1, 1, 1, 8, 8, vocab, 1 << 20); }
            @Override public ModelState newState(int maxContext) { return new State(maxContext); }
            @Override public float[] forward(ModelState st, int[] tokens, boolean allLogits) {
                State s = (State) st;
                if (s.n + tokens.length > s.seen.length) throw new IllegalStateException("state full");
                float[] out = new float[(allLogits ? tokens.length : 1) * vocab];
                float[] row = new float[vocab];
                for (int i = 0; i < tokens.length; i++) {
                    if (tokens[i] < 0 || tokens[i] >= vocab) throw new IllegalArgumentException("token " + tokens[i]);
                    s.seen[s.n++] = tokens[i];
                    if (allLogits || i == tokens.length - 1) {
                        Arrays.fill(row, 0);
                        rule.logits(s.seen, s.n, row);
                        System.arraycopy(row, 0, out, (allLogits ? i : 0) * vocab, vocab);
                    }
                }
                return out;
            }
            @Override public void close() {}
        };
    }

    /** p(v) = (1 + count of v in the state) / (vocab + n): a cache model whose predictions depend on the whole state. */
    static LanguageModel counting(int vocab) {
        return model(vocab, (seen, n, out) -> {
            for (int i = 0; i < n; i++) out[seen[i]] += 1;
            for (int v = 0; v < vocab; v++) out[v] = (float) Math.log(1 + out[v]);
        });
    }
}
