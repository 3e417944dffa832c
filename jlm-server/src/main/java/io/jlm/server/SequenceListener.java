package io.jlm.server;

import java.util.List;

/**
 * Receives a sequence's output, called from the scheduler thread: implementations must not block
 * (hand the events to the request's thread, e.g. through a queue).
 */
public interface SequenceListener {

    /** Log-probability of a token and of the most likely alternatives. */
    record TokenLogprob(int token, String text, byte[] bytes, float logprob, List<TokenLogprob> top) {}

    /**
     * One generated token: {@code text} is the newly released text (may be empty while a stop string or an
     * incomplete UTF-8 sequence is held back); {@code logprob} is null unless requested.
     */
    void onToken(String text, TokenLogprob logprob);

    /** The sequence ended; no more calls follow. */
    void onFinish(FinishReason reason, int promptTokens, int completionTokens);

    /** The sequence failed (it is already removed and its KV blocks freed). */
    void onError(String message);

    enum FinishReason {
        STOP("stop"), LENGTH("length"), CANCELLED("cancelled");
        final String openAi;
        FinishReason(String openAi) { this.openAi = openAi; }
        public String openAi() { return openAi; }
    }
}
