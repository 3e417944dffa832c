package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * Selective copying (Mamba): {@code length} positions of which {@code count} hold data tokens at random positions and
 * the rest a noise token; then a go token, after which the data tokens must be reproduced in order (scored).
 * <p>Tokens: data {@code [0, alphabet)}, noise {@code alphabet}, go {@code alphabet + 1}.
 * Layout: {@code (data|NOISE)*length GO d1..dk}.
 */
public record SelectiveCopy(int length, int count, int alphabet) implements Task {

    public SelectiveCopy {
        Sampling.require(count >= 1 && count <= length, "selective-copy", "count must be in [1, length]");
        Sampling.require(alphabet >= 2, "selective-copy", "alphabet must be >= 2");
    }

    public int noise() { return alphabet; }
    public int go() { return alphabet + 1; }

    @Override public String name() { return "selective-copy"; }
    @Override public int vocabSize() { return alphabet + 2; }
    @Override public int sequenceLength() { return length + 1 + count; }

    @Override
    public Example sample(RandomGenerator rnd) {
        int[] tokens = new int[sequenceLength()];
        boolean[] scored = new boolean[tokens.length];
        java.util.Arrays.fill(tokens, 0, length, noise());
        int[] pos = Sampling.sortedDistinct(rnd, length, count);
        for (int j = 0; j < count; j++) {
            int d = rnd.nextInt(alphabet);
            tokens[pos[j]] = d;
            tokens[length + 1 + j] = d;
        }
        tokens[length] = go();
        for (int i = length; i < length + count; i++) scored[i] = true;
        return Example.scoring(tokens, scored);
    }
}
