package io.jlm.tokenizers;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits text into pre-tokens (words) before BPE merging. Implementations are immutable and thread-safe.
 */
public interface PreTokenizer {

    /**
     * Splits a code point sequence.
     * @return the length, in code points, of each piece, in order; the lengths sum to {@code cps.length}
     *         (empty pieces may appear and carry no text)
     */
    int[] split(int[] cps);

    /** Splits text; the pieces concatenate to the text (lone surrogates read as U+FFFD). */
    default List<String> split(String text) {
        int[] cps = codePoints(text);
        int[] lens = split(cps);
        List<String> out = new ArrayList<>(lens.length);
        int pos = 0;
        for (int len : lens) {
            if (len > 0) out.add(new String(cps, pos, len));
            pos += len;
        }
        return out;
    }

    /** The splitter llama.cpp uses for a {@code tokenizer.ggml.pre} value. */
    static PreTokenizer forLlamaCpp(String pre) {
        return PreTokenizerType.forName(pre).preTokenizer();
    }

    /** Code points of text; unpaired surrogates become U+FFFD as in llama.cpp's UTF-8 decoding of invalid input. */
    static int[] codePoints(String text) {
        int[] cps = text.codePoints().toArray();
        for (int i = 0; i < cps.length; i++) {
            if (cps[i] >= 0xD800 && cps[i] <= 0xDFFF) cps[i] = 0xFFFD;
        }
        return cps;
    }
}
