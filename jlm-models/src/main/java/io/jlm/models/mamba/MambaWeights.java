package io.jlm.models.mamba;

import io.jlm.core.tensor.QMatrix;

import java.util.List;

/**
 * Weights of a Mamba-1 model. Large projections stay in their file type as {@link QMatrix} (rows = outputs);
 * small per-channel tensors are dequantized to float32 at load time.
 */
public record MambaWeights(QMatrix tokenEmbedding, float[] outputNorm, QMatrix output, List<Layer> layers) {

    /**
     * One Mamba block.
     *
     * @param norm     RMSNorm weight [dim]
     * @param in       ssm_in: dim -> 2*dInner (x half, then z half)
     * @param convW    ssm_conv1d.weight [dInner][dConv] (tap dConv-1 multiplies the current input)
     * @param convB    ssm_conv1d.bias [dInner]
     * @param xProj    ssm_x: dInner -> dtRank + 2*dState (dt, B, C)
     * @param dtProj   ssm_dt: dtRank -> dInner
     * @param dtBias   ssm_dt.bias [dInner]
     * @param a        ssm_a [dInner][dState], already -exp(A_log)
     * @param d        ssm_d [dInner] (skip connection)
     * @param out      ssm_out: dInner -> dim
     */
    public record Layer(float[] norm, QMatrix in, float[] convW, float[] convB, QMatrix xProj, QMatrix dtProj,
                        float[] dtBias, float[] a, float[] d, QMatrix out) {
    }
}
