package io.jlm.engine;

/**
 * Timings of one generation call.
 *
 * @param promptTokens     tokens evaluated in the batched prefill
 * @param promptNanos      time of the prefill forward pass
 * @param generatedTokens  tokens sampled (including a final end-of-generation token)
 * @param generationNanos  time from the end of the prefill to the end of generation (sampling + decode steps)
 */
public record GenerationStats(int promptTokens, long promptNanos, int generatedTokens, long generationNanos) {

    public double promptTokensPerSecond() {
        return promptNanos == 0 ? 0 : promptTokens / (promptNanos / 1e9);
    }

    public double tokensPerSecond() {
        return generationNanos == 0 ? 0 : generatedTokens / (generationNanos / 1e9);
    }

    /** llama.cpp style two-line summary. */
    public String summary() {
        return String.format(java.util.Locale.ROOT,
                "prompt eval: %d tokens in %.2f ms (%.2f ms/token, %.2f tokens/s)%n" +
                "generation:  %d tokens in %.2f ms (%.2f ms/token, %.2f tokens/s)",
                promptTokens, promptNanos / 1e6, promptTokens == 0 ? 0 : promptNanos / 1e6 / promptTokens, promptTokensPerSecond(),
                generatedTokens, generationNanos / 1e6, generatedTokens == 0 ? 0 : generationNanos / 1e6 / generatedTokens,
                tokensPerSecond());
    }
}
