package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * Passkey retrieval (token level): a long filler, a key marker followed by {@code digits} random digits placed at
 * relative depth {@code depth} of the filler, more filler, then a query marker after which the digits must be
 * repeated (scored). The filler repeats a fixed pattern of {@code fillerTokens} tokens, so it is predictable and
 * carries no information; {@code length} (the whole sequence) can be set beyond a model's training length.
 * <p>Tokens: digits {@code 0..9}, filler {@code [10, 10 + fillerTokens)}, key marker {@code 10 + fillerTokens},
 * query marker {@code 11 + fillerTokens}.
 * Layout: {@code filler.. KEY d1..dk filler.. QUERY d1..dk}, total {@code length} tokens.
 *
 * @param depth where the key goes, as a fraction of the filler: 0 = at the start, 1 = just before the query
 */
public record PasskeyTask(int length, double depth, int digits, int fillerTokens) implements Task {

    public PasskeyTask {
        Sampling.require(digits >= 1, "passkey", "digits must be >= 1");
        Sampling.require(fillerTokens >= 1, "passkey", "fillerTokens must be >= 1");
        Sampling.require(depth >= 0 && depth <= 1, "passkey", "depth " + depth + " must be in [0, 1]");
        Sampling.require(length >= 2 * digits + 2, "passkey", "length " + length + " must be >= " + (2 * digits + 2) + " (2 markers + 2 x digits)");
    }

    public int keyMarker() { return 10 + fillerTokens; }
    public int queryMarker() { return 11 + fillerTokens; }

    /** Index of the key marker in every example. */
    public int keyPosition() {
        int filler = length - 2 * digits - 2;
        return (int) Math.round(depth * filler);
    }

    @Override public String name() { return "passkey"; }
    @Override public int vocabSize() { return 12 + fillerTokens; }
    @Override public int sequenceLength() { return length; }

    @Override
    public Example sample(RandomGenerator rnd) {
        int[] tokens = new int[length];
        boolean[] scored = new boolean[length];
        int[] key = new int[digits];
        for (int i = 0; i < digits; i++) key[i] = rnd.nextInt(10);
        int kp = keyPosition();
        int q = length - digits - 1; // query marker
        int f = 0;
        for (int i = 0; i < q; i++) {
            if (i == kp) {
                tokens[i] = keyMarker();
                System.arraycopy(key, 0, tokens, i + 1, digits);
                i += digits;
            } else {
                tokens[i] = 10 + (f++ % fillerTokens);
            }
        }
        tokens[q] = queryMarker();
        System.arraycopy(key, 0, tokens, q + 1, digits);
        for (int i = q; i < q + digits; i++) scored[i] = true;
        return Example.scoring(tokens, scored);
    }
}
