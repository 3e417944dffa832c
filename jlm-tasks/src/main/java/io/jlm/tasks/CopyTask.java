package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * Copying: a random string of {@code length} tokens, a separator, then the same string again; every copied token is
 * scored. Tokens: symbols {@code [0, alphabet)}, separator {@code alphabet}. Layout: {@code x1..xL SEP x1..xL}.
 */
public record CopyTask(int length, int alphabet) implements Task {

    public CopyTask {
        Sampling.require(length >= 1, "copy", "length must be >= 1");
        Sampling.require(alphabet >= 2, "copy", "alphabet must be >= 2");
    }

    public int separator() { return alphabet; }

    @Override public String name() { return "copy"; }
    @Override public int vocabSize() { return alphabet + 1; }
    @Override public int sequenceLength() { return 2 * length + 1; }

    @Override
    public Example sample(RandomGenerator rnd) {
        int[] tokens = new int[2 * length + 1];
        boolean[] scored = new boolean[tokens.length];
        for (int i = 0; i < length; i++) tokens[i] = rnd.nextInt(alphabet);
        tokens[length] = separator();
        System.arraycopy(tokens, 0, tokens, length + 1, length);
        for (int i = length; i < 2 * length; i++) scored[i] = true;
        return Example.scoring(tokens, scored);
    }
}
