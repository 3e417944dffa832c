package io.jlm.engine;

/**
 * @param text   the emitted text (without a matched stop string)
 * @param tokens the sampled tokens (including a final end-of-generation token, if any)
 */
public record GenerationResult(String text, int[] tokens, StopReason stopReason, GenerationStats stats) {
}
