package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * Induction heads: random tokens in which a trigger token appears exactly twice; after the second trigger the model
 * must predict the token that followed the first. Only that position is scored.
 * <p>Tokens: symbols {@code [0, alphabet)}, trigger {@code alphabet}. Layout: random symbols with {@code T b} at a
 * random position in the first part and {@code T b} again as the last two tokens.
 */
public record InductionTask(int length, int alphabet) implements Task {

    public InductionTask {
        Sampling.require(length >= 4, "induction", "length must be >= 4");
        Sampling.require(alphabet >= 2, "induction", "alphabet must be >= 2");
    }

    public int trigger() { return alphabet; }

    @Override public String name() { return "induction"; }
    @Override public int vocabSize() { return alphabet + 1; }
    @Override public int sequenceLength() { return length; }

    @Override
    public Example sample(RandomGenerator rnd) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) tokens[i] = rnd.nextInt(alphabet);
        int first = rnd.nextInt(length - 3); // T at first, b at first+1, both before the final T b
        int b = rnd.nextInt(alphabet);
        tokens[first] = trigger();
        tokens[first + 1] = b;
        tokens[length - 2] = trigger();
        tokens[length - 1] = b;
        boolean[] scored = new boolean[length];
        scored[length - 2] = true;
        return Example.scoring(tokens, scored);
    }
}
