package io.jlm.models.transformer;

import io.jlm.models.ModelConfig;

/**
 * Hyper-parameters of a transformer model.
 *
 * @param headDim        floats per query/key/value head
 * @param ropeDim        number of leading dimensions of each head that RoPE rotates (even, <= headDim)
 * @param ropeFreqScale  linear RoPE scaling: positions are multiplied by this (1 = none)
 * @param attnSoftcap    attention logit soft-cap c: s -> c*tanh(s/c); 0 = off
 * @param finalSoftcap   output logit soft-cap; 0 = off
 * @param slidingWindow  window size for layers where {@link ArchSpec#slidingLayer} holds (keys with
 *                       {@code qpos - kpos >= slidingWindow} are masked); 0 = none
 * @param queryScale     factor applied to q.k before the soft-cap and softmax
 * @param embedScale     factor applied to token embeddings
 */
public record TransformerConfig(ArchSpec arch, String name, int dim, int layers, int heads, int kvHeads, int headDim,
                                int ffnDim, int vocabSize, int contextLength, float normEps, float ropeBase,
                                int ropeDim, float ropeFreqScale, float attnSoftcap, float finalSoftcap,
                                int slidingWindow, float queryScale, float embedScale) {

    public int qDim() { return heads * headDim; }

    public int kvDim() { return kvHeads * headDim; }

    /** The sliding window of {@code layer}, or 0 if it attends to the whole context. */
    public int window(int layer) {
        return slidingWindow > 0 && arch.slidingLayer(layer) ? slidingWindow : 0;
    }

    public ModelConfig toModelConfig() {
        return new ModelConfig(arch.name(), name, dim, layers, heads, kvHeads, headDim, ffnDim, vocabSize, contextLength);
    }
}
