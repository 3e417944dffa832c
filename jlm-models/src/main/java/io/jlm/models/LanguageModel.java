package io.jlm.models;

/**
 * A loaded language model: a pure function from (state, tokens) to logits that advances the state.
 * The model holds only weights; everything that grows with the sequence lives in a {@link ModelState}.
 */
public interface LanguageModel extends AutoCloseable {

    ModelConfig config();

    /** A fresh per-sequence state (KV cache and/or recurrent state) for up to {@code maxContext} positions. */
    ModelState newState(int maxContext);

    /**
     * Runs {@code tokens} at positions {@code state.position() ...}, as one batch (matrix-matrix prefill),
     * appends them to the state and returns logits: for the last token only ({@code vocab} floats) or, if
     * {@code allLogits}, for every token ({@code tokens.length * vocab} floats, row per token).
     * <p>Without {@code allLogits} the returned array may be a buffer owned by {@code state} that the next
     * forward call on the same state overwrites (so that decoding allocates nothing): copy it to keep it.
     * Throws {@link IllegalStateException} if the tokens do not fit in the state's remaining capacity and
     * {@link IllegalArgumentException} for token ids outside the vocabulary (the state is then unchanged).
     */
    float[] forward(ModelState state, int[] tokens, boolean allLogits);

    @Override
    void close();
}
