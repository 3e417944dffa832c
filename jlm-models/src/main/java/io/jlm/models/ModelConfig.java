package io.jlm.models;

/**
 * The architecture-independent summary of a loaded model's hyper-parameters (read from GGUF metadata).
 * Architecture-specific details (RoPE, soft-capping, ...) live in the architecture's own configuration, e.g.
 * {@link io.jlm.models.transformer.TransformerConfig}. Fields that do not apply to an architecture are 0.
 *
 * @param headDim       floats per attention head (key/value length)
 * @param contextLength the training context length from metadata
 */
public record ModelConfig(String architecture, String name, int dim, int layers, int heads, int kvHeads, int headDim,
                          int ffnDim, int vocabSize, int contextLength) {
}
