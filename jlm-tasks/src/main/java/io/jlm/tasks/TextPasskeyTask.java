package io.jlm.tasks;

import io.jlm.tokenizers.Tokenizer;

import java.util.random.RandomGenerator;

/**
 * Passkey retrieval in natural text, for models with a real vocabulary (after Mohtashami &amp; Jaggi): an instruction,
 * {@code repeats} copies of a filler paragraph with the sentence "The pass key is NNNNN. Remember it. NNNNN is the
 * pass key." inserted after {@code round(depth * repeats)} copies, then "What is the pass key? The pass key is";
 * the answer " NNNNN" follows and its tokens are scored. The prompt is encoded with the tokenizer's special-token
 * rules (BOS where the vocabulary adds one), the answer separately without them.
 */
public record TextPasskeyTask(Tokenizer tokenizer, int repeats, double depth, int digits) implements Task {

    static final String INTRO = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
            + "I will quiz you about the important information there.";
    static final String FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
    static final String QUESTION = " What is the pass key? The pass key is";

    public TextPasskeyTask {
        Sampling.require(tokenizer != null, "passkey-text", "a tokenizer is required");
        Sampling.require(repeats >= 0, "passkey-text", "repeats must be >= 0");
        Sampling.require(depth >= 0 && depth <= 1, "passkey-text", "depth must be in [0, 1]");
        Sampling.require(digits >= 1 && digits <= 18, "passkey-text", "digits must be in [1, 18]");
    }

    /** The prompt text and the answer text for a key. */
    public String[] texts(String key) {
        StringBuilder b = new StringBuilder(INTRO.length() + repeats * FILLER.length() + 200);
        b.append(INTRO);
        int at = (int) Math.round(depth * repeats);
        for (int i = 0; i <= repeats; i++) {
            if (i == at) b.append(" The pass key is ").append(key).append(". Remember it. ").append(key).append(" is the pass key.");
            if (i < repeats) b.append(FILLER);
        }
        b.append(QUESTION);
        return new String[]{b.toString(), " " + key};
    }

    @Override public String name() { return "passkey-text"; }

    @Override
    public String toString() {
        return "TextPasskeyTask[repeats=" + repeats + ", depth=" + depth + ", digits=" + digits + "]";
    }
    @Override public int vocabSize() { return tokenizer.vocabSize(); }

    /** An upper bound of the example length (the exact length depends on how the key's digits tokenize). */
    @Override
    public int sequenceLength() {
        int max = 0;
        for (int d = 0; d < 10; d++) {
            String key = String.valueOf((char) ('0' + d)).repeat(digits);
            String[] t = texts(key);
            max = Math.max(max, tokenizer.encode(t[0], true, false).length + tokenizer.encode(t[1]).length);
        }
        return max + 2 * digits;
    }

    @Override
    public Example sample(RandomGenerator rnd) {
        StringBuilder key = new StringBuilder(digits);
        key.append((char) ('1' + rnd.nextInt(9)));
        for (int i = 1; i < digits; i++) key.append((char) ('0' + rnd.nextInt(10)));
        String[] t = texts(key.toString());
        int[] prompt = tokenizer.encode(t[0], true, false);
        int[] answer = tokenizer.encode(t[1]);
        int[] tokens = new int[prompt.length + answer.length];
        System.arraycopy(prompt, 0, tokens, 0, prompt.length);
        System.arraycopy(answer, 0, tokens, prompt.length, answer.length);
        boolean[] scored = new boolean[tokens.length];
        for (int i = prompt.length - 1; i < tokens.length - 1; i++) scored[i] = true;
        return Example.scoring(tokens, scored);
    }
}
