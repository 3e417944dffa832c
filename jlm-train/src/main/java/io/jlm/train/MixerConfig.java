package io.jlm.train;

/**
 * The token-mixer layout of a {@link ModelConfig.Arch#HYBRID} model: a pattern with one letter per residual
 * sublayer ({@code A} attention, {@code W} sliding-window attention, {@code F} SwiGLU MLP, {@code L} linear
 * attention, {@code R} retention, {@code S} S4D, {@code H} H3, {@code M} Mamba; see {@code docs/JLM_ARCH.md}) and the
 * sizes those sublayers need.
 *
 * @param layers      the pattern, e.g. {@code "AFAF"} (a 2-block transformer) or {@code "MFMFAFMF"}
 * @param nKvHead     KV heads of {@code A}/{@code W} (grouped-query attention when fewer than the query heads)
 * @param window      window of {@code W} sublayers
 * @param position    positional encoding of the attention sublayers
 * @param scaling     RoPE scaling and its {@code factor} (position interpolation or NTK-aware base change)
 * @param s4dModes    complex modes per channel of {@code S} and {@code H}
 * @param h3Shift     taps of H3's shift SSM
 * @param ssmInner    Mamba inner width ({@code 2 d} usually)
 * @param ssmConv     Mamba convolution taps
 * @param ssmState    Mamba state size per channel
 * @param ssmDtRank   Mamba rank of the time-step projection
 */
public record MixerConfig(String layers, int nKvHead, int window, Position position, Scaling scaling, float factor,
                          int s4dModes, int h3Shift, int ssmInner, int ssmConv, int ssmState, int ssmDtRank) {
    public enum Position { ROPE, ALIBI, NONE, LEARNED }
    public enum Scaling { NONE, LINEAR, NTK }

    public static final String LETTERS = "AWFLRSHM";

    public MixerConfig {
        if (layers == null || layers.isEmpty()) throw new IllegalArgumentException("mixer config: empty layer pattern");
        for (int i = 0; i < layers.length(); i++)
            if (LETTERS.indexOf(layers.charAt(i)) < 0)
                throw new IllegalArgumentException("mixer config: layer " + i + " of pattern '" + layers + "' is '"
                        + layers.charAt(i) + "'; expected one of " + LETTERS);
        if (nKvHead <= 0 || window < 0 || s4dModes <= 0 || h3Shift <= 0 || ssmInner <= 0 || ssmConv <= 0
                || ssmState <= 0 || ssmDtRank <= 0 || !(factor > 0))
            throw new IllegalArgumentException("mixer config: sizes must be positive: " + this);
        if (layers.indexOf('W') >= 0 && window == 0)
            throw new IllegalArgumentException("mixer config: pattern '" + layers + "' has W layers but window is 0");
    }

    /** Defaults for model width {@code d}: RoPE, full KV heads, window 16, 32 S4D modes, 4 shift taps, Mamba 2d/4/16/ceil(d/16). */
    public static MixerConfig of(String layers, int nHead, int d) {
        return new MixerConfig(layers, nHead, 16, Position.ROPE, Scaling.NONE, 1f, 32, 4, 2 * d, 4, 16,
                Math.max(1, (d + 15) / 16));
    }

    public MixerConfig withPosition(Position p) {
        return new MixerConfig(layers, nKvHead, window, p, scaling, factor, s4dModes, h3Shift, ssmInner, ssmConv, ssmState, ssmDtRank);
    }
    public MixerConfig withScaling(Scaling s, float f) {
        return new MixerConfig(layers, nKvHead, window, position, s, f, s4dModes, h3Shift, ssmInner, ssmConv, ssmState, ssmDtRank);
    }
    public MixerConfig withWindow(int w) {
        return new MixerConfig(layers, nKvHead, w, position, scaling, factor, s4dModes, h3Shift, ssmInner, ssmConv, ssmState, ssmDtRank);
    }
    public MixerConfig withKvHeads(int n) {
        return new MixerConfig(layers, n, window, position, scaling, factor, s4dModes, h3Shift, ssmInner, ssmConv, ssmState, ssmDtRank);
    }
    public MixerConfig withSsm(int s4dModes, int h3Shift, int inner, int conv, int state, int dtRank) {
        return new MixerConfig(layers, nKvHead, window, position, scaling, factor, s4dModes, h3Shift, inner, conv, state, dtRank);
    }
}
