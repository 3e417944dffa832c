package io.jlm.models;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * A loaded language model: a pure function from (state, tokens) to logits that advances the state.
 * The model holds only weights; everything that grows with the sequence lives in a {@link ModelState}.
 */
public interface LanguageModel extends AutoCloseable {

    ModelConfig config();

    /** A fresh per-sequence state (KV cache and/or recurrent state) for up to {@code maxContext} positions. */
    ModelState newState(int maxContext);

    /**
     * A fresh state whose KV cache follows {@code policy}. Models without a KV cache (state-space models) accept only
     * the default full policy.
     */
    default ModelState newState(int maxContext, io.jlm.models.state.KvPolicy policy) {
        if (policy instanceof io.jlm.models.state.KvPolicy.Full f && f.type() == io.jlm.core.tensor.GGMLType.F16) {
            return newState(maxContext);
        }
        throw new UnsupportedOperationException("model " + config().name() + " has no KV cache; KV policy "
                + policy.spec() + " does not apply");
    }

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

    /**
     * Runs several sequences in one step (continuous batching, packed prefill): for every entry, its tokens at its
     * state's current position, as {@link #forward} would, and advances each state. Returns, per entry in order, a
     * new array (owned by the caller, never reused by later calls) holding the last token's logits ({@code vocab}
     * floats) or, if {@code allLogits}, every token's ({@code tokens.length * vocab}).
     * <p>All entries are validated before any state changes: a state must appear at most once, belong to this
     * model, and have room for its tokens; token ids must be in the vocabulary. Otherwise
     * {@link IllegalArgumentException} (bad entry) or {@link IllegalStateException} (context full) names the entry.
     * <p>This default runs the entries one after the other through {@link #forward}; models with a real batched
     * path (the transformer) override it so that all rows share each weight read. Calls on one model must not
     * overlap (one batch at a time).
     */
    default List<float[]> forwardBatch(List<BatchEntry> entries) {
        validateBatch(entries);
        List<float[]> out = new ArrayList<>(entries.size());
        for (BatchEntry e : entries) {
            float[] logits = forward(e.state(), e.tokens(), e.allLogits());
            out.add(e.allLogits() ? logits : logits.clone());
        }
        return out;
    }

    /**
     * The model-independent checks of {@link #forwardBatch}: no null or repeated state, room for the tokens, token
     * ids inside the vocabulary. Throws before anything is changed.
     */
    default void validateBatch(List<BatchEntry> entries) {
        if (entries == null) throw new IllegalArgumentException("forwardBatch needs a list of entries");
        int vocab = config().vocabSize();
        IdentityHashMap<ModelState, Integer> seen = new IdentityHashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            BatchEntry e = entries.get(i);
            if (e == null) throw new IllegalArgumentException("batch entry " + i + " is null");
            Integer before = seen.put(e.state(), i);
            if (before != null) {
                throw new IllegalArgumentException("batch entries " + before + " and " + i + " share one state");
            }
            int[] t = e.tokens();
            for (int j = 0; j < t.length; j++) {
                if (t[j] < 0 || t[j] >= vocab) {
                    throw new IllegalArgumentException("batch entry " + i + ": token id " + t[j] + " at index " + j
                            + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
            if ((long) e.state().position() + t.length > e.state().capacity()) {
                throw new IllegalStateException("batch entry " + i + ": context full: position "
                        + e.state().position() + " + " + t.length + " tokens exceeds the state capacity "
                        + e.state().capacity());
            }
        }
    }

    /**
     * Runs {@code tokens} like {@link #forward} (appending them to {@code state}) but returns the final-norm hidden
     * state instead of logits: the mean over the tokens ({@code mean}) or the last token's ({@code dim} floats).
     * Used for embeddings. Models without this throw {@link UnsupportedOperationException}.
     */
    default float[] embed(ModelState state, int[] tokens, boolean mean) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not provide hidden-state embeddings");
    }

    @Override
    void close();
}
