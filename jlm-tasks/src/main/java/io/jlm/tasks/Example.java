package io.jlm.tasks;

import java.util.Arrays;

/**
 * One generated sequence: the tokens a model reads and, per position, the token it should predict next.
 * {@code targets[i]} is the expected next token after reading {@code tokens[0..i]}, or {@code -1} where the position
 * is not scored. Answers are part of the sequence (teacher forcing): for a scored {@code i < length - 1},
 * {@code targets[i] == tokens[i + 1]}, so a trainer can use the sequence as is and mask its loss with
 * {@code targets != -1}.
 */
public record Example(int[] tokens, int[] targets) {

    public Example {
        if (tokens.length != targets.length) {
            throw new IllegalArgumentException("tokens (" + tokens.length + ") and targets (" + targets.length + ") differ in length");
        }
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] < -1) throw new IllegalArgumentException("targets[" + i + "] = " + targets[i] + "; expected -1 or a token id");
            if (targets[i] >= 0 && i + 1 < tokens.length && targets[i] != tokens[i + 1]) {
                throw new IllegalArgumentException("targets[" + i + "] = " + targets[i] + " but tokens[" + (i + 1) + "] = "
                        + tokens[i + 1] + "; a scored target must be the next token");
            }
        }
    }

    /** Builds an example whose scored positions are {@code scored[i]} (the targets are then the next tokens). */
    public static Example scoring(int[] tokens, boolean[] scored) {
        int[] t = new int[tokens.length];
        for (int i = 0; i < t.length; i++) t[i] = scored[i] && i + 1 < tokens.length ? tokens[i + 1] : -1;
        return new Example(tokens, t);
    }

    public int length() { return tokens.length; }

    /** Number of scored positions. */
    public int scoredCount() {
        int n = 0;
        for (int t : targets) if (t >= 0) n++;
        return n;
    }

    /** The largest token id used (in tokens or targets). */
    public int maxToken() {
        return Math.max(Arrays.stream(tokens).max().orElse(-1), Arrays.stream(targets).max().orElse(-1));
    }

    @Override
    public String toString() {
        return "Example[tokens=" + Arrays.toString(tokens) + ", targets=" + Arrays.toString(targets) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Example e && Arrays.equals(tokens, e.tokens) && Arrays.equals(targets, e.targets);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + Arrays.hashCode(targets);
    }
}
