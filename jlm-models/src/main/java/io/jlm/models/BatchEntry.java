package io.jlm.models;

/**
 * One sequence of a {@link LanguageModel#forwardBatch} call: run {@code tokens} at {@code state}'s current position
 * and return the logits of the last token, or of every token if {@code allLogits}.
 */
public record BatchEntry(ModelState state, int[] tokens, boolean allLogits) {
    public BatchEntry {
        if (state == null) throw new IllegalArgumentException("batch entry needs a state");
        if (tokens == null || tokens.length == 0) throw new IllegalArgumentException("batch entry needs at least one token");
    }

    /** An entry that returns the last token's logits only. */
    public BatchEntry(ModelState state, int[] tokens) {
        this(state, tokens, false);
    }
}
