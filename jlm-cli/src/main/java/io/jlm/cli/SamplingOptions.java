package io.jlm.cli;

import io.jlm.engine.SamplerConfig;
import picocli.CommandLine.Option;

/** Sampling options shared by generate and chat (llama.cpp names and defaults). */
final class SamplingOptions {
    @Option(names = "--temp", defaultValue = "0.8", description = "Temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Top-k; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Top-p; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", defaultValue = "0.05", description = "Min-p; 0 = off (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "Repetition penalty; 1 = off (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--repeat-last-n", defaultValue = "64", description = "Tokens the penalties look back on (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = "--presence-penalty", defaultValue = "0.0", description = "Presence penalty (default: ${DEFAULT-VALUE}).")
    float presencePenalty;

    @Option(names = "--frequency-penalty", defaultValue = "0.0", description = "Frequency penalty (default: ${DEFAULT-VALUE}).")
    float frequencyPenalty;

    @Option(names = "--seed", defaultValue = "-1", description = "Random seed; -1 = random (default: ${DEFAULT-VALUE}).")
    long seed;

    SamplerConfig toConfig() {
        long s = seed == -1 ? System.nanoTime() : seed;
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty, s);
    }
}
