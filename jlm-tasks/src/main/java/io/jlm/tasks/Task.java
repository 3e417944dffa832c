package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * A synthetic sequence task: generates examples deterministically from a random generator (the same seed gives the
 * same examples). Token ids lie in {@code [0, vocabSize())}; each task documents its token layout.
 */
public interface Task {

    /** Short name, e.g. {@code mqar}. */
    String name();

    /** Number of token ids the task uses (a model evaluated on it needs at least this many). */
    int vocabSize();

    /** Length of every example (all tasks here generate fixed-length examples). */
    int sequenceLength();

    /** A new example, using only {@code rnd} for randomness. */
    Example sample(RandomGenerator rnd);

    /** {@code count} consecutive examples from {@code rnd} (the same as calling {@link #sample} that often). */
    default Example[] sample(RandomGenerator rnd, int count) {
        Example[] out = new Example[count];
        for (int i = 0; i < count; i++) out[i] = sample(rnd);
        return out;
    }

    /** One-line description of the configuration. */
    default String describe() { return toString(); }
}
