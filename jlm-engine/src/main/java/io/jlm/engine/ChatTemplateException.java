package io.jlm.engine;

/** A chat template failed to render (syntax error, or the template called {@code raise_exception}). */
public class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }
}
