package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * Multi-query associative recall (MQAR, Zoology): {@code pairs} key-value pairs, then a separator, then
 * {@code queries} of the keys (distinct, random order), each followed by its value. The values are scored.
 * <p>Tokens: keys {@code [0, keys)}, values {@code [keys, keys + values)}, separator {@code keys + values}.
 * Layout: {@code k1 v1 ... kn vn SEP q1 a1 ... qm am}; keys within one example are distinct.
 */
public record MultiQueryRecall(int pairs, int queries, int keys, int values) implements Task {

    public MultiQueryRecall {
        Sampling.require(pairs >= 1 && queries >= 1, "mqar", "pairs and queries must be >= 1");
        Sampling.require(queries <= pairs, "mqar", "queries (" + queries + ") must be <= pairs (" + pairs + ")");
        Sampling.require(keys >= pairs, "mqar", "keys (" + keys + ") must be >= pairs (" + pairs + ") so that keys are distinct");
        Sampling.require(values >= 1, "mqar", "values must be >= 1");
    }

    public int separator() { return keys + values; }

    @Override public String name() { return "mqar"; }
    @Override public int vocabSize() { return keys + values + 1; }
    @Override public int sequenceLength() { return 2 * pairs + 1 + 2 * queries; }

    @Override
    public Example sample(RandomGenerator rnd) {
        int[] k = Sampling.distinct(rnd, keys, pairs);
        int[] v = new int[pairs];
        for (int i = 0; i < pairs; i++) v[i] = keys + rnd.nextInt(values);
        int[] q = Sampling.distinct(rnd, pairs, queries);
        int n = sequenceLength();
        int[] tokens = new int[n];
        boolean[] scored = new boolean[n];
        int p = 0;
        for (int i = 0; i < pairs; i++) { tokens[p++] = k[i]; tokens[p++] = v[i]; }
        tokens[p++] = separator();
        for (int j = 0; j < queries; j++) {
            scored[p] = true;
            tokens[p++] = k[q[j]];
            tokens[p++] = v[q[j]];
        }
        return Example.scoring(tokens, scored);
    }
}
