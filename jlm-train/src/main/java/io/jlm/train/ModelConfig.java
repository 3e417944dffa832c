package io.jlm.train;

/**
 * A decoder-only LM configuration. {@link Arch#GPT}: learned absolute positions, LayerNorm (weight, optional
 * bias), GELU MLP of {@code ffn} hidden units, output head tied to the token embedding (as nanoGPT).
 * {@link Arch#LLAMA}: RMSNorm, RoPE, SwiGLU MLP, no biases, untied output head (exports to {@code llama} GGUF).
 */
public record ModelConfig(Arch arch, int vocab, int blockSize, int nLayer, int nHead, int nEmbd, int ffn,
                          boolean bias, float normEps, float ropeTheta, MixerConfig mixers) {
    /** {@link #HYBRID}: RMSNorm pre-norm sublayers by the {@link MixerConfig} pattern, untied output ({@code jlm} GGUF). */
    public enum Arch { GPT, LLAMA, HYBRID }

    public ModelConfig(Arch arch, int vocab, int blockSize, int nLayer, int nHead, int nEmbd, int ffn,
                       boolean bias, float normEps, float ropeTheta) {
        this(arch, vocab, blockSize, nLayer, nHead, nEmbd, ffn, bias, normEps, ropeTheta, null);
    }

    public ModelConfig {
        if (vocab <= 0 || blockSize <= 0 || nLayer <= 0 || nHead <= 0 || nEmbd <= 0 || ffn <= 0)
            throw new IllegalArgumentException("model config: sizes must be positive: " + this);
        if (nEmbd % nHead != 0) throw new IllegalArgumentException("model config: n_embd " + nEmbd
                + " is not a multiple of n_head " + nHead);
        if ((arch == Arch.HYBRID) != (mixers != null))
            throw new IllegalArgumentException("model config: a mixer pattern goes with (and only with) the HYBRID arch");
        if (arch == Arch.HYBRID) {
            if (nLayer != mixers.layers().length()) throw new IllegalArgumentException("model config: n_layer " + nLayer
                    + " != length of pattern '" + mixers.layers() + "'");
            if (nHead % mixers.nKvHead() != 0) throw new IllegalArgumentException("model config: n_head " + nHead
                    + " is not a multiple of n_kv_head " + mixers.nKvHead());
        }
        if ((arch == Arch.LLAMA || arch == Arch.HYBRID) && (nEmbd / nHead) % 2 != 0)
            throw new IllegalArgumentException("model config: RoPE needs an even head size, got " + nEmbd / nHead);
    }

    public static ModelConfig gpt(int vocab, int blockSize, int nLayer, int nHead, int nEmbd) {
        return new ModelConfig(Arch.GPT, vocab, blockSize, nLayer, nHead, nEmbd, 4 * nEmbd, false, 1e-5f, 0f);
    }

    public static ModelConfig llama(int vocab, int blockSize, int nLayer, int nHead, int nEmbd, int ffn) {
        return new ModelConfig(Arch.LLAMA, vocab, blockSize, nLayer, nHead, nEmbd, ffn, false, 1e-5f, 10000f);
    }

    /** A {@link Arch#HYBRID} model: sublayers by {@code mixers.layers()}, SwiGLU MLPs of {@code ffn}, RoPE base 10000. */
    public static ModelConfig hybrid(int vocab, int blockSize, int nHead, int nEmbd, int ffn, MixerConfig mixers) {
        return new ModelConfig(Arch.HYBRID, vocab, blockSize, mixers.layers().length(), nHead, nEmbd, ffn, false, 1e-5f,
                10000f, mixers);
    }

    public int headSize() { return nEmbd / nHead; }
}
