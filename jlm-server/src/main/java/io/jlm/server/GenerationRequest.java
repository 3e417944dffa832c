package io.jlm.server;

import io.jlm.engine.SamplerConfig;
import io.jlm.models.state.KvPolicy;

import java.util.List;

/**
 * One sequence to generate, in token space (the HTTP layer renders chat templates and tokenizes).
 *
 * @param prompt      prompt tokens (at least one)
 * @param sampling    sampler settings (seeded)
 * @param maxTokens   most tokens to generate
 * @param stop        stop strings (the text before the first one is returned)
 * @param topLogprobs -1 = no log-probabilities; otherwise the chosen token's plus this many alternatives
 * @param grammar     constrain the output to this language at its start (JSON object or schema); null = free text
 * @param kvPolicy    KV cache policy of this sequence (quantized, sink+window, eviction, ThinK); null = the
 *                    server's paged F16 cache with prefix caching
 */
public record GenerationRequest(int[] prompt, SamplerConfig sampling, int maxTokens, List<String> stop,
                                int topLogprobs, ByteGrammar grammar, KvPolicy kvPolicy) {

    /** A request on the server's paged cache. */
    public GenerationRequest(int[] prompt, SamplerConfig sampling, int maxTokens, List<String> stop, int topLogprobs, ByteGrammar grammar) {
        this(prompt, sampling, maxTokens, stop, topLogprobs, grammar, null);
    }

    public GenerationRequest {
        if (prompt == null || prompt.length == 0) throw new IllegalArgumentException("prompt: empty (expected at least one token)");
        if (maxTokens < 0) throw new IllegalArgumentException("max_tokens: " + maxTokens + " (expected >= 0)");
        stop = stop == null ? List.of() : List.copyOf(stop);
    }
}
