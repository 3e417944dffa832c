package io.jlm.server;

import io.jlm.tokenizers.Tokenizer;

/**
 * Constrained sampling for {@code response_format: json_object / json_schema}: before each draw, every token
 * whose bytes cannot continue the document (any JSON object, or one matching a schema) gets logit -inf; once the object is complete only
 * end-of-generation tokens remain. One instance per sequence; the token byte table is shared per tokenizer.
 */
final class JsonConstraint {
    private final Tokenizer tokenizer;
    private final byte[][] tokenBytes;
    private final ByteGrammar grammar;
    private final ByteGrammar trial;

    /** @param grammar the language at its start: {@link JsonGrammar} (any object) or a {@link SchemaGrammar} */
    JsonConstraint(Tokenizer tokenizer, byte[][] tokenBytes, ByteGrammar grammar) {
        this.tokenizer = tokenizer;
        this.tokenBytes = tokenBytes;
        this.grammar = grammar;
        this.trial = grammar.fresh();
    }

    /** The bytes of every token; control tokens get an empty array (never allowed by the grammar). */
    static byte[][] tokenTable(Tokenizer tokenizer) {
        byte[][] t = new byte[tokenizer.vocabSize()][];
        for (int i = 0; i < t.length; i++) {
            byte[] b = tokenizer.isControl(i) ? null : tokenizer.tokenBytes(i);
            t[i] = b == null ? new byte[0] : b;
        }
        return t;
    }

    boolean done() { return grammar.done(); }

    /** Sets the logits of tokens that would break the JSON document to -inf; returns how many remain allowed. */
    int mask(float[] logits) {
        int allowed = 0;
        boolean done = grammar.done();
        for (int i = 0; i < tokenBytes.length; i++) {
            boolean ok;
            if (tokenizer.isEndOfGeneration(i)) {
                ok = done;
            } else if (done || tokenBytes[i].length == 0) {
                ok = false;
            } else {
                trial.copyFrom(grammar);
                ok = trial.feed(tokenBytes[i]);
            }
            if (ok) allowed++;
            else logits[i] = Float.NEGATIVE_INFINITY;
        }
        return allowed;
    }

    /** Advances the grammar over the chosen token. */
    void accept(int token) {
        if (!tokenizer.isEndOfGeneration(token)) grammar.feed(tokenBytes[token]);
    }
}
