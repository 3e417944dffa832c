package io.jlm.engine;

/**
 * Sampling parameters (llama.cpp semantics).
 *
 * @param temperature      0 (or below) = greedy argmax; otherwise logits are divided by it before the final draw
 * @param topK             keep the k most likely tokens; 0 (or below) disables
 * @param topP             keep the smallest set of most likely tokens whose probability sums to at least p; >= 1 disables
 * @param minP             keep tokens whose probability is at least {@code minP} times the top probability; <= 0 disables
 * @param repeatPenalty    for tokens seen in the last {@code repeatLastN}: positive logits divided, negative multiplied; 1 disables
 * @param repeatLastN      window of recent tokens the penalties look at (0 disables all penalties)
 * @param presencePenalty  subtracted once from the logit of every token seen in the window
 * @param frequencyPenalty subtracted, times its count in the window, from the logit of every seen token
 * @param seed             seed of the random draw; the same seed gives the same sequence
 */
public record SamplerConfig(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN,
                            float presencePenalty, float frequencyPenalty, long seed) {

    /** llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties, window 64. */
    public static SamplerConfig defaults(long seed) {
        return new SamplerConfig(0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 0f, 0f, seed);
    }

    /** Greedy argmax decoding. */
    public static SamplerConfig greedy() {
        return new SamplerConfig(0f, 0, 1f, 0f, 1.0f, 64, 0f, 0f, 0);
    }

    public SamplerConfig {
        if (Float.isNaN(temperature)) throw new IllegalArgumentException("temperature: NaN (expected >= 0)");
        if (!(topP > 0f)) throw new IllegalArgumentException("top-p: " + topP + " (expected in (0, 1])");
        if (minP < 0f || minP > 1f) throw new IllegalArgumentException("min-p: " + minP + " (expected in [0, 1])");
        if (!(repeatPenalty > 0f)) throw new IllegalArgumentException("repeat penalty: " + repeatPenalty + " (expected > 0)");
        if (repeatLastN < 0) throw new IllegalArgumentException("repeat-last-n: " + repeatLastN + " (expected >= 0)");
    }

    public SamplerConfig withTemperature(float t) { return new SamplerConfig(t, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }
    public SamplerConfig withTopK(int k) { return new SamplerConfig(temperature, k, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }
    public SamplerConfig withTopP(float p) { return new SamplerConfig(temperature, topK, p, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }
    public SamplerConfig withMinP(float p) { return new SamplerConfig(temperature, topK, topP, p, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, seed); }
    public SamplerConfig withRepeatPenalty(float r, int lastN) { return new SamplerConfig(temperature, topK, topP, minP, r, lastN, presencePenalty, frequencyPenalty, seed); }
    public SamplerConfig withPresencePenalty(float p) { return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, p, frequencyPenalty, seed); }
    public SamplerConfig withFrequencyPenalty(float f) { return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, f, seed); }
    public SamplerConfig withSeed(long s) { return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, s); }

    boolean penaltiesEnabled() {
        return repeatLastN > 0 && (repeatPenalty != 1f || presencePenalty != 0f || frequencyPenalty != 0f);
    }
}
