package io.jlm.tasks;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;

import java.util.Random;

/**
 * Scores a {@link LanguageModel} on a {@link Task}: every example is run in one sequence from an empty state
 * (teacher forcing) and, at each scored position, the model's most likely next token (argmax of the logits) is
 * compared with the target.
 */
public final class TaskScorer {
    private TaskScorer() {}

    /**
     * @param examples      examples evaluated
     * @param scored        scored positions in all
     * @param correct       scored positions where the argmax was the target
     * @param exact         examples with every scored position correct
     * @param nll           sum of the targets' negative log-likelihoods (nats)
     */
    public record Result(String task, int examples, long scored, long correct, int exact, double nll) {
        /** Fraction of scored positions predicted correctly. */
        public double accuracy() { return scored == 0 ? Double.NaN : (double) correct / scored; }
        /** Fraction of examples with all scored positions correct. */
        public double exactMatch() { return examples == 0 ? Double.NaN : (double) exact / examples; }
        /** Mean negative log-likelihood per scored position. */
        public double meanNll() { return scored == 0 ? Double.NaN : nll / scored; }
    }

    /** Scores {@code count} examples drawn from {@code task} with {@code new Random(seed)}. */
    public static Result score(LanguageModel model, Task task, int count, long seed) {
        return score(model, task.name(), task.sample(new Random(seed), count));
    }

    /** Scores given examples. */
    public static Result score(LanguageModel model, String name, Example... examples) {
        int vocab = model.config().vocabSize();
        long scored = 0, correct = 0;
        int exact = 0;
        double nll = 0;
        ModelState state = null;
        for (Example e : examples) {
            if (e.maxToken() >= vocab) {
                throw new IllegalArgumentException(name + ": token " + e.maxToken() + " is outside the model's vocabulary [0, "
                        + vocab + "); the task needs a model with at least " + (e.maxToken() + 1) + " tokens");
            }
            int[] tokens = e.tokens();
            int[] targets = e.targets();
            int first = -1;
            for (int i = 0; i < targets.length && first < 0; i++) if (targets[i] >= 0) first = i;
            if (first < 0) continue;
            int last = targets.length - 1;
            while (targets[last] < 0) last--;
            state = LogitRows.fresh(model, state, last + 1);
            long[] c = new long[2];
            double[] l = new double[1];
            LogitRows.run(model, state, tokens, 0, last + 1, first, (p, row, off, v) -> {
                int t = targets[p];
                if (t < 0) return;
                c[0]++;
                if (LogitRows.argmax(row, off, v) == t) c[1]++;
                l[0] -= LogitRows.logProb(row, off, v, t);
            });
            scored += c[0];
            correct += c[1];
            nll += l[0];
            if (c[0] == c[1]) exact++;
        }
        return new Result(name, examples.length, scored, correct, exact, nll);
    }
}
