package io.jlm.tokenizers;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A Hugging Face {@code tokenizers} pre-tokenizer pipeline of splitting steps (Split with a regex, ByteLevel with
 * {@code use_regex}, Digits, Punctuation), each applied to every piece of the previous step. Regexes follow the
 * Oniguruma/Rust semantics of the library: full Unicode classes ({@code \s} is Unicode White_Space).
 */
final class PreTokenizerHuggingFace implements PreTokenizer {

    /** GPT-2's regex as the ByteLevel pre-tokenizer uses it. */
    static final String BYTE_LEVEL_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    enum Behavior { ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** One splitting step: the pattern finds delimiters, the behaviour says where they go. */
    record Step(Pattern pattern, Behavior behavior) {}

    private final List<Step> steps;

    PreTokenizerHuggingFace(List<Step> steps) {
        this.steps = List.copyOf(steps);
    }

    /** Compiles an HF (Oniguruma) regex for Java. */
    static Pattern compile(String regex) {
        String r = regex.replace("\\p{Han}", "\\p{IsHan}").replace("\\p{Hiragana}", "\\p{IsHiragana}")
                .replace("\\p{Katakana}", "\\p{IsKatakana}").replace("\\p{Hangul}", "\\p{IsHangul}");
        try {
            return Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("pre-tokenizer regex does not compile in Java: " + regex + ": " + e.getDescription(), e);
        }
    }

    @Override
    public int[] split(int[] cps) {
        if (cps.length == 0) return new int[0];
        String text = new String(cps, 0, cps.length);
        // piece boundaries in UTF-16 units
        PreTokenizerRegex.IntList bounds = new PreTokenizerRegex.IntList(16);
        bounds.add(0);
        bounds.add(text.length());
        for (Step step : steps) {
            PreTokenizerRegex.IntList nb = new PreTokenizerRegex.IntList(bounds.size * 2);
            nb.add(0);
            Matcher m = step.pattern().matcher(text);
            for (int k = 0; k + 1 < bounds.size; k++) {
                int s = bounds.data[k], e = bounds.data[k + 1];
                splitPiece(m, s, e, step.behavior(), nb);
                if (nb.data[nb.size - 1] != e) nb.add(e);
            }
            bounds = nb;
        }
        // to code point lengths
        int[] out = new int[bounds.size - 1];
        for (int k = 0; k + 1 < bounds.size; k++) {
            out[k] = text.codePointCount(bounds.data[k], bounds.data[k + 1]);
        }
        return out;
    }

    /** Adds the inner boundaries of piece [s,e) in increasing order (s is already present, e is added by the caller). */
    private static void splitPiece(Matcher m, int s, int e, Behavior behavior, PreTokenizerRegex.IntList nb) {
        m.region(s, e);
        int prev = s;
        int lastMatchEnd = -1;
        while (m.find()) {
            int ms = m.start(), me = m.end();
            if (me == ms) continue;
            switch (behavior) {
                case ISOLATED -> {
                    if (ms > prev) nb.add(ms);
                    if (me < e) nb.add(me);
                }
                case MERGED_WITH_PREVIOUS -> { if (me < e) nb.add(me); }
                case MERGED_WITH_NEXT -> { if (ms > s) nb.add(ms); }
                case CONTIGUOUS -> {
                    if (ms == lastMatchEnd) nb.size--; // extend the previous delimiter run
                    else if (ms > prev) nb.add(ms);
                    if (me < e) nb.add(me);
                    else if (ms == lastMatchEnd) { /* run reaches the end: boundary removed, caller adds e */ }
                    lastMatchEnd = me;
                }
            }
            prev = me;
        }
    }
}
