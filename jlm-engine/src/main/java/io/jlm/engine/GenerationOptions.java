package io.jlm.engine;

import java.util.List;

/**
 * @param maxTokens   the most tokens to generate; negative = until end of generation or a full context
 * @param stopStrings generation stops when the text contains one of them; the stop string itself is not emitted
 */
public record GenerationOptions(int maxTokens, List<String> stopStrings) {
    public GenerationOptions {
        stopStrings = List.copyOf(stopStrings);
    }

    public static GenerationOptions maxTokens(int n) {
        return new GenerationOptions(n, List.of());
    }
}
