package io.jlm.engine;

/** Why generation ended. */
public enum StopReason {
    /** The model produced an end-of-generation token (EOS, EOT, {@code <|im_end|>}, ...). */
    END_OF_GENERATION,
    /** The requested number of tokens was generated. */
    MAX_TOKENS,
    /** The model state has no room for another token. */
    CONTEXT_FULL,
    /** The text contained a stop string. */
    STOP_STRING
}
