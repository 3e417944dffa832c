package io.jlm.tokenizers;

/**
 * Text <-> token ids for one vocabulary. Implementations are immutable and thread-safe.
 */
public interface Tokenizer {

    int vocabSize();

    /**
     * Encodes text.
     * @param addSpecial   add the BOS (and, where the vocabulary asks for it, EOS) tokens per the vocabulary's rules
     *                     ({@code tokenizer.ggml.add_bos_token} etc.), as llama.cpp's {@code add_special}
     * @param parseSpecial recognise the text of special/control tokens (e.g. {@code <|im_start|>}) as those tokens,
     *                     as llama.cpp's {@code parse_special}
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** Encodes plain text without BOS and without special-token parsing. */
    default int[] encode(String text) { return encode(text, false, false); }

    /** The raw bytes one token stands for when detokenized (byte tokens give their byte; control tokens give none). */
    byte[] tokenBytes(int id);

    /** Decodes a whole sequence to text (invalid UTF-8 at the edges replaced). */
    String decode(int[] ids);

    /** The vocabulary string of a token (as stored in the model). */
    String tokenText(int id);

    /** BOS id, or -1. */
    int bos();

    /** EOS id, or -1. */
    int eos();

    /** True for end-of-generation tokens (EOS, EOT, {@code <|im_end|>}, ...). */
    boolean isEndOfGeneration(int id);

    /** True for control tokens, which are not printed when generating. */
    boolean isControl(int id);
}
