package io.jlm.server;

/**
 * A recognizer of the prefixes of a language over bytes, used by {@link JsonConstraint} to mask tokens. Its state
 * must be cheap to copy: the mask tries every vocabulary token from the current state.
 */
public interface ByteGrammar {

    /** Feeds bytes; false if they cannot continue a sentence of the language (the state is then unusable). */
    boolean feed(byte[] bytes);

    /** The bytes so far form a complete sentence, and nothing may follow. */
    boolean done();

    /** Makes this state equal to {@code other} (same grammar). */
    void copyFrom(ByteGrammar other);

    /** A fresh recognizer of the same language at its start. */
    ByteGrammar fresh();
}
