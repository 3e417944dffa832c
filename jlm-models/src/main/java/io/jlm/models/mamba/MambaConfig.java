package io.jlm.models.mamba;

import io.jlm.models.ModelConfig;

/**
 * Hyper-parameters of a Mamba-1 model (GGUF architecture {@code mamba}).
 *
 * @param dim           residual stream width ({@code mamba.embedding_length})
 * @param layers        number of blocks ({@code mamba.block_count})
 * @param vocabSize     rows of {@code token_embd}
 * @param contextLength training context from metadata (informational: the state has constant size)
 * @param dConv         causal depthwise convolution width ({@code mamba.ssm.conv_kernel})
 * @param dInner        inner (expanded) width ({@code mamba.ssm.inner_size})
 * @param dState        SSM state size per channel ({@code mamba.ssm.state_size})
 * @param dtRank        rank of the time-step projection ({@code mamba.ssm.time_step_rank})
 * @param eps           RMSNorm epsilon ({@code mamba.attention.layer_norm_rms_epsilon})
 * @param dtBcRms       whether dt, B and C are RMS-normalised before use ({@code mamba.ssm.dt_b_c_rms}, Falcon-Mamba)
 */
public record MambaConfig(String name, int dim, int layers, int vocabSize, int contextLength, int dConv, int dInner,
                          int dState, int dtRank, float eps, boolean dtBcRms) {

    /** Floats per token produced by {@code ssm_x}: dt (dtRank), B (dState), C (dState). */
    public int xProjSize() { return dtRank + 2 * dState; }

    public ModelConfig toModelConfig() {
        return new ModelConfig("mamba", name, dim, layers, 0, 0, 0, 0, vocabSize, contextLength);
    }
}
