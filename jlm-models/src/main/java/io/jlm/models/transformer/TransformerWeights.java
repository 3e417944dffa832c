package io.jlm.models.transformer;

import io.jlm.core.tensor.QMatrix;

/**
 * The weights of a transformer. Matrices are {@code rows = output features} x {@code cols = input features};
 * norm weights and biases are float arrays. Absent optional tensors are {@code null}.
 *
 * @param output           the LM head; the token embedding when tied
 * @param ropeFreqFactors  per-frequency divisors of the RoPE angle ({@code rope_freqs.weight}, Llama 3.1+), or null
 * @param ropeFactorsShort Phi-3 "longrope" divisors used when a state's context is at most
 *                         {@code ropeOriginalContext}, or null
 * @param ropeFactorsLong  Phi-3 "longrope" divisors for longer contexts, or null
 * @param ropeAttnFactor   magnitude of cos/sin in RoPE ({@code rope.scaling.attn_factor}, 1 by default)
 */
public record TransformerWeights(QMatrix tokenEmbedding, float[] outputNorm, QMatrix output, Layer[] layers,
                                 float[] ropeFreqFactors, float[] ropeFactorsShort, float[] ropeFactorsLong,
                                 int ropeOriginalContext, float ropeAttnFactor) {

    /**
     * One block. Either {@code wqkv} (rows [q; k; v]) or {@code wq, wk, wv} are set. Either {@code wGate} and
     * {@code wUp} are set, or only {@code wUp} with rows [gate; up] (fused).
     */
    public record Layer(float[] attnNorm, QMatrix wq, QMatrix wk, QMatrix wv, QMatrix wqkv,
                        float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm, QMatrix wo,
                        float[] postAttnNorm, float[] ffnNorm, QMatrix wGate, QMatrix wUp, QMatrix wDown,
                        float[] postFfnNorm) {
    }
}
