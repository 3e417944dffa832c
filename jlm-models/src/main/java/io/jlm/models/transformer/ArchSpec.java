package io.jlm.models.transformer;

/**
 * What distinguishes one decoder-only transformer architecture from another. The block structure shared by all
 * of them is: {@code x += [postAttnNorm](attn(norm(x)))}; {@code x += [postFfnNorm](ffn(norm(x)))}; logits =
 * {@code [softcap](output(norm(x)))}. Numeric hyper-parameters (soft-cap values, window, ...) are read from
 * metadata into {@link TransformerConfig}.
 *
 * @param name            the {@code general.architecture} value
 * @param rope            how RoPE pairs dimensions
 * @param qkvBias         whether {@code attn_q/k/v.bias} are absent, optional or required
 * @param fusedQkv        whether one {@code attn_qkv.weight} ([q;k;v] rows) may replace q/k/v ({@code OPTIONAL})
 * @param fusedGateUp     {@code ffn_up.weight} holds [gate; up] (2 x ffn rows) and there is no {@code ffn_gate}
 * @param qkNorm          per-head RMSNorm of queries and keys ({@code attn_q_norm}, {@code attn_k_norm}) before RoPE
 * @param sandwichNorms   RMSNorm after attention and after the FFN ({@code post_attention_norm}, {@code post_ffw_norm})
 * @param activation      activation of the gated FFN
 * @param scaleEmbedding  multiply token embeddings by sqrt(dim)
 * @param swaPattern      0: no sliding window; n > 0: layers with {@code layer % n < n - 1} use the window
 *                        {@code <arch>.attention.sliding_window}
 */
public record ArchSpec(String name, RopeMode rope, Presence qkvBias, Presence fusedQkv, boolean fusedGateUp,
                       boolean qkNorm, boolean sandwichNorms, Activation activation, boolean scaleEmbedding,
                       int swaPattern) {

    public enum RopeMode {
        /** Rotates adjacent pairs (2i, 2i+1) (llama.cpp "normal"; GGUF llama q/k weights are permuted for it). */
        NORMAL,
        /** Rotates pairs (i, i + nRot/2) (GPT-NeoX style). */
        NEOX
    }

    public enum Presence { ABSENT, OPTIONAL, REQUIRED }

    public enum Activation { SILU, GELU_TANH }

    public static final ArchSpec LLAMA = new ArchSpec("llama", RopeMode.NORMAL, Presence.OPTIONAL, Presence.ABSENT,
            false, false, false, Activation.SILU, false, 0);
    public static final ArchSpec QWEN2 = new ArchSpec("qwen2", RopeMode.NEOX, Presence.REQUIRED, Presence.ABSENT,
            false, false, false, Activation.SILU, false, 0);
    public static final ArchSpec QWEN3 = new ArchSpec("qwen3", RopeMode.NEOX, Presence.ABSENT, Presence.ABSENT,
            false, true, false, Activation.SILU, false, 0);
    public static final ArchSpec PHI3 = new ArchSpec("phi3", RopeMode.NEOX, Presence.ABSENT, Presence.OPTIONAL,
            true, false, false, Activation.SILU, false, 0);
    public static final ArchSpec GEMMA2 = new ArchSpec("gemma2", RopeMode.NEOX, Presence.ABSENT, Presence.ABSENT,
            false, false, true, Activation.GELU_TANH, true, 2);

    /** The spec for a {@code general.architecture} value, or {@code null} if it is not a supported transformer. */
    public static ArchSpec forName(String architecture) {
        return switch (architecture) {
            case "llama" -> LLAMA;
            case "qwen2" -> QWEN2;
            case "qwen3" -> QWEN3;
            case "phi3" -> PHI3;
            case "gemma2" -> GEMMA2;
            default -> null;
        };
    }

    /** Whether {@code layer} uses the sliding attention window. */
    public boolean slidingLayer(int layer) {
        return swaPattern > 0 && layer % swaPattern < swaPattern - 1;
    }
}
