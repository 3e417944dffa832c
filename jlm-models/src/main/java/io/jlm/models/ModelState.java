package io.jlm.models;

/** Per-sequence state that grows with (or summarizes) the tokens processed so far. */
public interface ModelState {

    /** Number of tokens processed (the position of the next token). */
    int position();

    /** Maximum number of positions this state can hold. */
    int capacity();

    /**
     * Forgets everything at positions >= {@code position} so that generation can continue from there
     * (e.g. to reuse a shared prompt prefix). States that cannot rewind throw {@link UnsupportedOperationException}.
     */
    void rewind(int position);

    /** Bytes of memory this state holds (KV cache, recurrent state). */
    long bytes();
}
