package io.jlm.models.hybrid;

import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelFormatException;

import java.util.Locale;

/**
 * Hyper-parameters of a {@code jlm} hybrid model (GGUF {@code general.architecture = "jlm"}, docs/JLM_ARCH.md):
 * a stack of residual sublayers given by a pattern string, one letter per sublayer. Fields that no letter of the
 * pattern uses are 0 (or the metadata's value when present).
 *
 * @param pattern       the sublayer letters ({@code jlm.layers}), each one of {@link #LETTERS}
 * @param dim           residual width {@code d} ({@code jlm.embedding_length})
 * @param vocabSize     rows of {@code token_embd}
 * @param contextLength trained context ({@code jlm.context_length}); the limit of learned position embeddings
 * @param ffnDim        {@code f} of {@code F} ({@code jlm.feed_forward_length})
 * @param heads         {@code nh} ({@code A}, {@code W}, {@code L}, {@code R})
 * @param kvHeads       {@code nkv} ({@code A}, {@code W}); defaults to {@code nh}
 * @param headDim       {@code hs = d / nh}
 * @param slidingWindow window of {@code W} in tokens
 * @param eps           epsilon of every RMSNorm
 * @param position      position encoding of {@code A} and {@code W} (learned: added to the embeddings)
 * @param ropeTheta     RoPE base {@code theta}
 * @param ropeScaling   RoPE scaling type
 * @param ropeFactor    RoPE scaling factor {@code s} (1 without scaling)
 * @param s4dModes      complex modes per channel {@code n} ({@code S}, {@code H})
 * @param h3Shift       taps {@code m} of the H3 shift SSM
 * @param dInner        Mamba {@code di}
 * @param dConv         Mamba {@code dconv}
 * @param dState        Mamba {@code ds}
 * @param dtRank        Mamba {@code dtr}
 */
public record HybridConfig(String name, String pattern, int dim, int vocabSize, int contextLength, int ffnDim,
                           int heads, int kvHeads, int headDim, int slidingWindow, float eps, Position position,
                           float ropeTheta, RopeScaling ropeScaling, float ropeFactor, int s4dModes, int h3Shift,
                           int dInner, int dConv, int dState, int dtRank) {

    /** The GGUF architecture name. */
    public static final String ARCH = "jlm";
    /** The known sublayer letters. */
    public static final String LETTERS = "AWFLRSHM";

    /** Position encoding of the attention sublayers ({@code jlm.position}). */
    public enum Position {
        ROPE, ALIBI, NONE, LEARNED;

        String key() { return name().toLowerCase(Locale.ROOT); }
    }

    /** RoPE scaling ({@code jlm.rope.scaling.type}): none, linear (position interpolation) or NTK-aware base. */
    public enum RopeScaling {
        NONE, LINEAR, NTK;

        String key() { return name().toLowerCase(Locale.ROOT); }
    }

    /** Number of sublayers. */
    public int layers() { return pattern.length(); }

    /** The letter of sublayer {@code i}. */
    public char letter(int i) { return pattern.charAt(i); }

    /** Whether the pattern contains any of {@code letters}. */
    public boolean uses(String letters) {
        for (int i = 0; i < pattern.length(); i++) {
            if (letters.indexOf(pattern.charAt(i)) >= 0) return true;
        }
        return false;
    }

    /** Key/value floats per token of one attention sublayer: {@code nkv * hs}. */
    public int kvDim() { return kvHeads * headDim; }

    /**
     * RoPE inverse frequencies {@code theta'^(-2j/hs)} for {@code j < hs/2}, in double (the positions are divided
     * by {@code s} separately for linear scaling).
     */
    public double[] ropeInverseFrequencies() {
        double theta = ropeTheta;
        if (ropeScaling == RopeScaling.NTK) theta = theta * Math.pow(ropeFactor, (double) headDim / (headDim - 2));
        double[] inv = new double[headDim / 2];
        for (int j = 0; j < inv.length; j++) inv[j] = Math.pow(theta, -2.0 * j / headDim);
        return inv;
    }

    /** The position {@code p'} RoPE rotates by at position {@code p}. */
    public double ropePosition(int p) {
        return ropeScaling == RopeScaling.LINEAR ? p / (double) ropeFactor : p;
    }

    public ModelConfig toModelConfig() {
        return new ModelConfig(ARCH, name, dim, layers(), heads, kvHeads, headDim, ffnDim, vocabSize, contextLength);
    }

    /**
     * Reads and checks the {@code jlm.*} metadata. {@code source} names the file in error messages; the vocabulary
     * size comes from the {@code token_embd} tensor. Keys that the pattern needs are required; every error is a
     * {@link ModelFormatException} naming the key and the expected value.
     */
    public static HybridConfig fromMetadata(GGUFMetadata md, String source, int vocabSize) {
        return new Parser(md, source).parse(vocabSize);
    }

    /** Reads the embedding width ({@code jlm.embedding_length}), needed before the vocabulary size is known. */
    static int embeddingLength(GGUFMetadata md, String source) {
        return new Parser(md, source).positive(ARCH + ".embedding_length");
    }

    private static final class Parser {
        private final GGUFMetadata md;
        private final String src;

        Parser(GGUFMetadata md, String src) {
            this.md = md;
            this.src = src;
        }

        HybridConfig parse(int vocab) {
            String pattern = string(ARCH + ".layers", null, "a pattern of sublayer letters from " + LETTERS);
            if (pattern.isEmpty()) {
                throw error("metadata '" + ARCH + ".layers' is empty; expected at least one sublayer letter of " + LETTERS);
            }
            for (int i = 0; i < pattern.length(); i++) {
                char ch = pattern.charAt(i);
                if (LETTERS.indexOf(ch) < 0) {
                    throw error("metadata '" + ARCH + ".layers' = \"" + pattern + "\": unknown letter '" + ch
                            + "' at sublayer " + i + "; expected one of " + String.join(" ", LETTERS.split("")));
                }
            }
            int blocks = positive(ARCH + ".block_count");
            if (blocks != pattern.length()) {
                throw error("metadata '" + ARCH + ".block_count' = " + blocks + " but '" + ARCH + ".layers' = \""
                        + pattern + "\" has " + pattern.length() + " sublayers; expected " + pattern.length());
            }
            int dim = positive(ARCH + ".embedding_length");
            int ctx = positive(ARCH + ".context_length");
            String name = md.getString("general.name", src);
            float eps = floatValue(ARCH + ".attention.layer_norm_rms_epsilon", 1e-5f);
            if (!(eps >= 0) || Float.isInfinite(eps)) {
                throw error("metadata '" + ARCH + ".attention.layer_norm_rms_epsilon' = " + eps
                        + "; expected a finite number >= 0");
            }
            boolean attention = contains(pattern, "AW");
            boolean heads = contains(pattern, "AWLR");

            int ffn = contains(pattern, "F") ? positive(ARCH + ".feed_forward_length") : optional(ARCH + ".feed_forward_length");
            int nh = 0, nkv = 0, hs = 0;
            if (heads) {
                nh = positive(ARCH + ".attention.head_count");
                if (dim % nh != 0) {
                    throw error("metadata '" + ARCH + ".attention.head_count' = " + nh + " does not divide "
                            + ARCH + ".embedding_length = " + dim + "; expected a divisor of " + dim);
                }
                hs = dim / nh;
                nkv = md.contains(ARCH + ".attention.head_count_kv") ? positive(ARCH + ".attention.head_count_kv") : nh;
                if (attention && (nkv > nh || nh % nkv != 0)) {
                    throw error("metadata '" + ARCH + ".attention.head_count_kv' = " + nkv + "; expected a divisor of "
                            + ARCH + ".attention.head_count = " + nh);
                }
            }
            int window = contains(pattern, "W") ? positive(ARCH + ".attention.sliding_window")
                    : optional(ARCH + ".attention.sliding_window");

            String posDefault = attention ? null : "none";
            String posName = string(ARCH + ".position", posDefault, "one of rope, alibi, none, learned");
            Position position = switch (posName) {
                case "rope" -> Position.ROPE;
                case "alibi" -> Position.ALIBI;
                case "none" -> Position.NONE;
                case "learned" -> Position.LEARNED;
                default -> throw error("metadata '" + ARCH + ".position' = \"" + posName
                        + "\"; expected one of rope, alibi, none, learned");
            };
            float theta = floatValue(ARCH + ".rope.freq_base", 10000f);
            String scalingName = string(ARCH + ".rope.scaling.type", "none", "one of none, linear, ntk");
            RopeScaling scaling = switch (scalingName) {
                case "none" -> RopeScaling.NONE;
                case "linear" -> RopeScaling.LINEAR;
                case "ntk" -> RopeScaling.NTK;
                default -> throw error("metadata '" + ARCH + ".rope.scaling.type' = \"" + scalingName
                        + "\"; expected one of none, linear, ntk");
            };
            float factor = 1f;
            if (position == Position.ROPE && attention) {
                if (!(theta > 0) || Float.isInfinite(theta)) {
                    throw error("metadata '" + ARCH + ".rope.freq_base' = " + theta + "; expected a finite number > 0");
                }
                if (hs % 2 != 0) {
                    throw error("head size " + hs + " (" + ARCH + ".embedding_length / " + ARCH
                            + ".attention.head_count) is odd; '" + ARCH + ".position' = rope needs an even head size");
                }
                if (scaling != RopeScaling.NONE) {
                    String key = ARCH + ".rope.scaling.factor";
                    if (!md.contains(key)) {
                        throw error("metadata '" + key + "' is missing; expected a number > 0 for "
                                + ARCH + ".rope.scaling.type = " + scaling.key());
                    }
                    factor = floatValue(key, 0f);
                    if (!(factor > 0) || Float.isInfinite(factor)) {
                        throw error("metadata '" + key + "' = " + factor + "; expected a finite number > 0");
                    }
                    if (scaling == RopeScaling.NTK && hs <= 2) {
                        throw error("head size " + hs + ": " + ARCH + ".rope.scaling.type = ntk needs a head size > 2");
                    }
                }
            } else {
                scaling = RopeScaling.NONE;
            }

            int modes = contains(pattern, "SH") ? positive(ARCH + ".s4d.modes") : optional(ARCH + ".s4d.modes");
            int shift = contains(pattern, "H") ? positive(ARCH + ".h3.shift_size") : optional(ARCH + ".h3.shift_size");
            int di = 0, dconv = 0, ds = 0, dtr = 0;
            if (contains(pattern, "M")) {
                di = positive(ARCH + ".ssm.inner_size");
                dconv = positive(ARCH + ".ssm.conv_kernel");
                ds = positive(ARCH + ".ssm.state_size");
                dtr = positive(ARCH + ".ssm.time_step_rank");
            }
            return new HybridConfig(name, pattern, dim, vocab, ctx, ffn, nh, nkv, hs, window, eps, position, theta,
                    scaling, factor, modes, shift, di, dconv, ds, dtr);
        }

        private static boolean contains(String pattern, String letters) {
            for (int i = 0; i < pattern.length(); i++) {
                if (letters.indexOf(pattern.charAt(i)) >= 0) return true;
            }
            return false;
        }

        private ModelFormatException error(String message) {
            return new ModelFormatException(src + ": " + message);
        }

        private String string(String key, String def, String expected) {
            if (!md.contains(key)) {
                if (def != null) return def;
                throw error("metadata '" + key + "' is missing; expected " + expected);
            }
            try {
                return md.getString(key);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(e.getMessage());
            }
        }

        int positive(String key) {
            if (!md.contains(key)) throw error("metadata '" + key + "' is missing; expected a positive integer");
            int v = intValue(key);
            if (v <= 0) throw error("metadata '" + key + "' = " + v + "; expected a positive integer");
            return v;
        }

        private int optional(String key) {
            if (!md.contains(key)) return 0;
            int v = intValue(key);
            if (v < 0) throw error("metadata '" + key + "' = " + v + "; expected a positive integer");
            return v;
        }

        private int intValue(String key) {
            try {
                return md.getInt(key, 0);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(e.getMessage());
            }
        }

        private float floatValue(String key, float def) {
            try {
                return md.getFloat(key, def);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(e.getMessage());
            }
        }
    }
}
