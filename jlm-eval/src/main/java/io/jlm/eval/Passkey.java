package io.jlm.eval;

import io.jlm.tokenizers.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Passkey retrieval prompts (as in the Landmark-Attention / LM-Infinite evaluations): filler text of a given token
 * length with one sentence stating a random 5-digit pass key at a random depth, ending in a question whose answer is
 * the key.
 */
public final class Passkey {
    static final String FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
    static final String QUESTION = " What is the pass key? The pass key is";
    /** The fixed text of the needle (around the key). */
    static final String NEEDLE_PARTS = " The pass key is . Remember it.  is the pass key.";

    /** A prompt and its expected continuation. */
    public record Case(int[] prompt, int[] answer, String key) {}

    private Passkey() {}

    /** The shortest prompt {@link #make} can build with this tokenizer (no filler). */
    public static int minimumLength(Tokenizer tok) {
        return tok.encode("", true, false).length + tok.encode(" The pass key is 12345. Remember it. 12345 is the pass key.").length
                + tok.encode(QUESTION).length;
    }

    /** A case of exactly {@code length} prompt tokens (BOS included when the vocabulary adds one). */
    public static Case make(Tokenizer tok, int length, Random random) {
        String key = Integer.toString(10000 + random.nextInt(90000));
        int[] bos = tok.encode("", true, false);
        int[] filler = tok.encode(FILLER);
        int[] needle = tok.encode(" The pass key is " + key + ". Remember it. " + key + " is the pass key.");
        int[] question = tok.encode(QUESTION);
        int[] answer = tok.encode(" " + key);
        int fill = length - bos.length - needle.length - question.length;
        if (fill < 0) throw new IllegalArgumentException("passkey length " + length + " is too short for the needle");
        int before = (int) Math.round(fill * random.nextDouble());
        List<int[]> parts = new ArrayList<>();
        parts.add(bos);
        parts.add(repeat(filler, before));
        parts.add(needle);
        parts.add(repeat(filler, fill - before));
        parts.add(question);
        int[] prompt = concat(parts);
        if (prompt.length != length) throw new IllegalStateException("passkey prompt has " + prompt.length + " tokens, wanted " + length);
        return new Case(prompt, answer, key);
    }

    private static int[] repeat(int[] unit, int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = unit[i % unit.length];
        return r;
    }

    private static int[] concat(List<int[]> parts) {
        int n = parts.stream().mapToInt(p -> p.length).sum(), o = 0;
        int[] r = new int[n];
        for (int[] p : parts) {
            System.arraycopy(p, 0, r, o, p.length);
            o += p.length;
        }
        return r;
    }

    /** Fraction of answer tokens reproduced at their place. */
    public static double tokenAccuracy(int[] expected, int[] got) {
        int ok = 0;
        for (int i = 0; i < expected.length; i++) if (i < got.length && got[i] == expected[i]) ok++;
        return ok / (double) expected.length;
    }

    public static boolean exact(int[] expected, int[] got) { return Arrays.equals(expected, got); }
}
