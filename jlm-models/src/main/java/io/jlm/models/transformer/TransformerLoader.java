package io.jlm.models.transformer;

import io.jlm.core.quant.Kernels;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.models.ModelFormatException;
import io.jlm.models.WeightSource;
import io.jlm.models.WeightSource.Tensor;
import io.jlm.models.transformer.ArchSpec.Presence;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Reads a {@link TransformerConfig} and {@link TransformerWeights} from a {@link WeightSource}, validating shapes. */
public final class TransformerLoader {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final WeightSource src;
    private final ArchSpec spec;
    private final GGUFMetadata md;
    private final String prefix;

    private TransformerLoader(WeightSource src, ArchSpec spec) {
        this.src = src;
        this.spec = spec;
        this.md = src.metadata();
        this.prefix = spec.name() + ".";
    }

    /** Reads config and weights; errors name the source, the key or tensor and what was expected. */
    public static TransformerModel load(WeightSource src, ArchSpec spec, io.jlm.core.parallel.ThreadPool pool) {
        TransformerLoader l = new TransformerLoader(src, spec);
        TransformerConfig c = l.readConfig();
        return new TransformerModel(c, l.readWeights(c), pool);
    }

    private TransformerConfig readConfig() {
        int dim = requireInt("embedding_length");
        int layers = requireInt("block_count");
        int heads = requireInt("attention.head_count");
        int kvHeads = optInt("attention.head_count_kv", heads);
        int ffn = requireInt("feed_forward_length");
        if (optInt("expert_count", 0) > 0) {
            throw error("mixture-of-experts models (" + prefix + "expert_count > 0) are not supported");
        }
        positive("embedding_length", dim);
        positive("block_count", layers);
        positive("attention.head_count", heads);
        positive("attention.head_count_kv", kvHeads);
        positive("feed_forward_length", ffn);
        if (heads % kvHeads != 0) {
            throw error("metadata '" + prefix + "attention.head_count' = " + heads + " is not a multiple of '"
                    + prefix + "attention.head_count_kv' = " + kvHeads);
        }
        int headDim;
        if (md.contains(prefix + "attention.key_length")) {
            headDim = requireInt("attention.key_length");
        } else {
            if (dim % heads != 0) {
                throw error("metadata '" + prefix + "embedding_length' = " + dim + " is not a multiple of the head count "
                        + heads + " and '" + prefix + "attention.key_length' is missing");
            }
            headDim = dim / heads;
        }
        positive("attention.key_length", headDim);
        int valueLength = optInt("attention.value_length", headDim);
        if (valueLength != headDim) {
            throw error("metadata '" + prefix + "attention.value_length' = " + valueLength
                    + "; expected the key length " + headDim + " (different key/value head sizes are not supported)");
        }
        int contextLength = optInt("context_length", 2048);
        if (!md.contains(prefix + "attention.layer_norm_rms_epsilon")) {
            throw error("metadata '" + prefix + "attention.layer_norm_rms_epsilon' is missing; expected the RMSNorm epsilon");
        }
        float eps = md.getFloat(prefix + "attention.layer_norm_rms_epsilon", 1e-5f);
        float ropeBase = md.getFloat(prefix + "rope.freq_base", 10000f);
        int ropeDim = optInt("rope.dimension_count", headDim);
        if (ropeDim <= 0 || ropeDim > headDim || ropeDim % 2 != 0) {
            throw error("metadata '" + prefix + "rope.dimension_count' = " + ropeDim
                    + "; expected an even number in 2.." + headDim + " (the head size)");
        }
        float freqScale = 1f;
        String scalingType = md.getString(prefix + "rope.scaling.type", "none");
        switch (scalingType) {
            case "none" -> { }
            case "linear" -> {
                float factor = md.getFloat(prefix + "rope.scaling.factor", 1f);
                if (!(factor > 0)) throw error("metadata '" + prefix + "rope.scaling.factor' = " + factor + "; expected > 0");
                freqScale = 1f / factor;
            }
            case "longrope" -> { } // Phi-3: handled through rope_factors_long/short tensors
            default -> throw error("metadata '" + prefix + "rope.scaling.type' = '" + scalingType
                    + "' is not supported; expected none, linear or longrope");
        }
        float attnSoftcap = md.getFloat(prefix + "attn_logit_softcapping", 0f);
        float finalSoftcap = md.getFloat(prefix + "final_logit_softcapping", 0f);
        int window = spec.swaPattern() > 0 ? optInt("attention.sliding_window", 0) : 0;
        float queryScale = (float) (1.0 / Math.sqrt(headDim));
        if (spec == ArchSpec.GEMMA2 && layers == 46) {
            // Gemma-2 27B scales queries by 1/sqrt(dim/heads) (query_pre_attn_scalar = 144), as llama.cpp does
            queryScale = (float) (1.0 / Math.sqrt((double) dim / heads));
        }
        float embedScale = spec.scaleEmbedding() ? (float) Math.sqrt(dim) : 1f;

        int vocab = (int) dim1(require("token_embd.weight"));
        String name = md.getString("general.name", src.name());
        return new TransformerConfig(spec, name, dim, layers, heads, kvHeads, headDim, ffn, vocab, contextLength, eps,
                ropeBase, ropeDim, freqScale, attnSoftcap, finalSoftcap, window, queryScale, embedScale);
    }

    private TransformerWeights readWeights(TransformerConfig c) {
        int dim = c.dim(), qDim = c.qDim(), kvDim = c.kvDim(), headDim = c.headDim(), ffn = c.ffnDim();
        int vocab = c.vocabSize(), ropeDim = c.ropeDim();
        Tensor embT = require("token_embd.weight");
        QMatrix embedding = matrix(embT, dim, vocab);
        float[] outputNorm = vector("output_norm.weight", dim);
        Tensor outT = src.tensor("output.weight");
        QMatrix output = outT == null ? embedding : matrix(outT, dim, vocab);

        TransformerWeights.Layer[] ls = new TransformerWeights.Layer[c.layers()];
        for (int i = 0; i < ls.length; i++) {
            String p = "blk." + i + ".";
            float[] attnNorm = vector(p + "attn_norm.weight", dim);
            QMatrix wq = null, wk = null, wv = null, wqkv = null;
            if (spec.fusedQkv() != Presence.ABSENT && src.tensor(p + "attn_qkv.weight") != null) {
                wqkv = matrix(require(p + "attn_qkv.weight"), dim, qDim + 2 * kvDim);
            } else {
                wq = matrix(require(p + "attn_q.weight"), dim, qDim);
                wk = matrix(require(p + "attn_k.weight"), dim, kvDim);
                wv = matrix(require(p + "attn_v.weight"), dim, kvDim);
            }
            float[] bq = null, bk = null, bv = null;
            if (spec.qkvBias() == Presence.REQUIRED
                    || (spec.qkvBias() == Presence.OPTIONAL && src.tensor(p + "attn_q.bias") != null)) {
                bq = vector(p + "attn_q.bias", qDim);
                bk = vector(p + "attn_k.bias", kvDim);
                bv = vector(p + "attn_v.bias", kvDim);
            }
            float[] qNorm = spec.qkNorm() ? vector(p + "attn_q_norm.weight", headDim) : null;
            float[] kNorm = spec.qkNorm() ? vector(p + "attn_k_norm.weight", headDim) : null;
            QMatrix wo = matrix(require(p + "attn_output.weight"), qDim, dim);
            float[] postAttnNorm = spec.sandwichNorms() ? vector(p + "post_attention_norm.weight", dim) : null;
            float[] ffnNorm = vector(p + "ffn_norm.weight", dim);
            QMatrix wGate = null, wUp;
            if (spec.fusedGateUp()) {
                wUp = matrix(require(p + "ffn_up.weight"), dim, 2 * ffn);
            } else {
                wGate = matrix(require(p + "ffn_gate.weight"), dim, ffn);
                wUp = matrix(require(p + "ffn_up.weight"), dim, ffn);
            }
            QMatrix wDown = matrix(require(p + "ffn_down.weight"), ffn, dim);
            float[] postFfnNorm = spec.sandwichNorms() ? vector(p + "post_ffw_norm.weight", dim) : null;
            ls[i] = new TransformerWeights.Layer(attnNorm, wq, wk, wv, wqkv, bq, bk, bv, qNorm, kNorm, wo,
                    postAttnNorm, ffnNorm, wGate, wUp, wDown, postFfnNorm);
        }
        float[] freqFactors = src.tensor("rope_freqs.weight") == null ? null : vector("rope_freqs.weight", ropeDim / 2);
        float[] shortF = src.tensor("rope_factors_short.weight") == null ? null : vector("rope_factors_short.weight", ropeDim / 2);
        float[] longF = src.tensor("rope_factors_long.weight") == null ? null : vector("rope_factors_long.weight", ropeDim / 2);
        int origCtx = optInt("rope.scaling.original_context_length", c.contextLength());
        float attnFactor = md.getFloat(prefix + "rope.scaling.attn_factor", 1f);
        return new TransformerWeights(embedding, outputNorm, output, ls, freqFactors, shortF, longF, origCtx, attnFactor);
    }

    // ---- metadata helpers

    private int requireInt(String key) {
        if (!md.contains(prefix + key)) {
            throw error("metadata '" + prefix + key + "' is missing; expected an integer");
        }
        return optInt(key, 0);
    }

    private int optInt(String key, int def) {
        try {
            return md.getInt(prefix + key, def);
        } catch (IllegalArgumentException e) {
            throw error("metadata '" + prefix + key + "': " + e.getMessage());
        }
    }

    private void positive(String key, int v) {
        if (v <= 0) throw error("metadata '" + prefix + key + "' = " + v + "; expected a positive integer");
    }

    private ModelFormatException error(String what) {
        return new ModelFormatException(src.name() + ": " + what + " (architecture " + spec.name() + ")");
    }

    // ---- tensor helpers

    private Tensor require(String name) {
        Tensor t = src.tensor(name);
        if (t == null) throw error("tensor '" + name + "' missing");
        return t;
    }

    private static long dim1(Tensor t) {
        return t.shape().length > 1 ? t.shape()[1] : 1;
    }

    /** A weight matrix of GGUF shape [cols, rows]. */
    private QMatrix matrix(Tensor t, int cols, int rows) {
        long[] s = t.shape();
        boolean ok = s.length == 2 && s[0] == cols && s[1] == rows
                || s.length > 2 && s[0] == cols && s[1] == rows && Arrays.stream(s, 2, s.length).allMatch(d -> d == 1);
        if (!ok) {
            throw error("tensor '" + t.name() + "' has shape " + Arrays.toString(s) + "; expected [" + cols + ", " + rows + "]");
        }
        if (!Kernels.isSupported(t.type())) {
            throw error("tensor '" + t.name() + "' has weight type " + t.type() + ", which jlm cannot compute with");
        }
        return new QMatrix(t.type(), rows, cols, t.data());
    }

    /** A 1-D float vector of {@code n} elements, dequantized to the heap. */
    private float[] vector(String name, int n) {
        Tensor t = require(name);
        long elements = 1;
        for (long d : t.shape()) elements *= d;
        if (elements != n || t.shape()[0] != n) {
            throw error("tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + "; expected [" + n + "]");
        }
        float[] out = new float[n];
        if (t.type() == GGMLType.F32) {
            MemorySegment.copy(t.data(), F32_LE, 0, out, 0, n);
        } else {
            if (!Kernels.isSupported(t.type())) {
                throw error("tensor '" + name + "' has type " + t.type() + "; expected F32 (or another supported type)");
            }
            Kernels.of(t.type()).dequantize(t.data(), 0, out, 0, n);
        }
        return out;
    }
}
