package io.jlm.models;

/** Hyper-parameters read from GGUF metadata (placeholder fields; the models module owns the full record). */
public record ModelConfig(String architecture, String name, int dim, int layers, int heads, int kvHeads, int headDim,
                          int ffnDim, int vocabSize, int contextLength) {
}
