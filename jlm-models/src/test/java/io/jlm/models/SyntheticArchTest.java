package io.jlm.models;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.formats.gguf.GGUFValue;
import io.jlm.models.TransformerReference.Hp;
import io.jlm.models.transformer.TransformerModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tiny random-weight models of every supported architecture, built in memory, against an independent float64
 * reference implementation written from the architecture definitions ({@link TransformerReference}).
 */
class SyntheticArchTest {
    private static final ThreadPool POOL = new ThreadPool(2);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @AfterAll
    static void closePool() { POOL.close(); }

    static Hp hp(String arch) {
        return switch (arch) {
            case "llama" -> new Hp(arch, 32, 2, 4, 2, 8, 48, 64, 8, 10000f, 1e-5f, 0, 0, 0, true);
            case "qwen2" -> new Hp(arch, 32, 2, 4, 2, 8, 48, 64, 8, 1000000f, 1e-6f, 0, 0, 0, false);
            case "qwen3" -> new Hp(arch, 32, 2, 4, 2, 16, 48, 64, 16, 1000000f, 1e-6f, 0, 0, 0, false);
            case "phi3" -> new Hp(arch, 32, 2, 4, 4, 8, 48, 64, 4, 10000f, 1e-5f, 0, 0, 0, false);
            case "gemma2" -> new Hp(arch, 32, 3, 4, 2, 16, 48, 64, 16, 10000f, 1e-6f, 2f, 8f, 4, false);
            default -> throw new IllegalArgumentException(arch);
        };
    }

    /** The synthetic model: float weights by GGUF tensor name plus metadata. */
    record Synth(Hp hp, Map<String, float[]> w, Map<String, long[]> shapes, Map<String, GGUFValue> md) {
        WeightSource source() {
            Arena arena = Arena.ofAuto();
            Map<String, WeightSource.Tensor> ts = new LinkedHashMap<>();
            for (var e : w.entrySet()) {
                float[] a = e.getValue();
                MemorySegment seg = arena.allocate(4L * a.length, 32);
                MemorySegment.copy(a, 0, seg, F32_LE, 0, a.length);
                ts.put(e.getKey(), new WeightSource.Tensor(e.getKey(), GGMLType.F32, shapes.get(e.getKey()), seg));
            }
            return WeightSource.of("synth-" + hp.arch() + ".gguf", new GGUFMetadata(md, "synth-" + hp.arch() + ".gguf"), ts);
        }
    }

    static Synth build(Hp h, long seed) {
        Random r = new Random(seed);
        Map<String, float[]> w = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        int qDim = h.heads() * h.headDim(), kvDim = h.kvHeads() * h.headDim();
        // matrix [in (ne0), out (ne1)] ~ N(0, 1/in); vectors: norms ~ 1 +- 0.2, biases ~ N(0, 0.5)
        java.util.function.BiConsumer<String, int[]> mat = (n, s) -> {
            float[] a = new float[s[0] * s[1]];
            double sd = 1 / Math.sqrt(s[0]);
            for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextGaussian() * sd);
            w.put(n, a);
            shapes.put(n, new long[]{s[0], s[1]});
        };
        java.util.function.BiConsumer<String, double[]> vec = (n, p) -> {
            float[] a = new float[(int) p[0]];
            for (int i = 0; i < a.length; i++) a[i] = (float) (p[1] + r.nextGaussian() * p[2]);
            w.put(n, a);
            shapes.put(n, new long[]{a.length});
        };
        float[] emb = new float[h.vocab() * h.dim()];
        for (int i = 0; i < emb.length; i++) emb[i] = (float) r.nextGaussian();
        w.put("token_embd.weight", emb);
        shapes.put("token_embd.weight", new long[]{h.dim(), h.vocab()});
        vec.accept("output_norm.weight", new double[]{h.dim(), 1, 0.2});
        boolean tied = h.arch().equals("gemma2") || h.arch().equals("qwen2");
        if (!tied) mat.accept("output.weight", new int[]{h.dim(), h.vocab()});
        if (h.ropeFactors()) vec.accept("rope_freqs.weight", new double[]{h.ropeDim() / 2, 2, 0.8});
        if (h.arch().equals("phi3")) { // longrope: states longer than the original context use the long factors
            vec.accept("rope_factors_short.weight", new double[]{h.ropeDim() / 2, 1.5, 0.3});
            vec.accept("rope_factors_long.weight", new double[]{h.ropeDim() / 2, 3, 0.5});
        }
        for (int l = 0; l < h.layers(); l++) {
            String p = "blk." + l + ".";
            vec.accept(p + "attn_norm.weight", new double[]{h.dim(), 1, 0.2});
            if (h.arch().equals("phi3")) {
                mat.accept(p + "attn_qkv.weight", new int[]{h.dim(), qDim + 2 * kvDim});
            } else {
                mat.accept(p + "attn_q.weight", new int[]{h.dim(), qDim});
                mat.accept(p + "attn_k.weight", new int[]{h.dim(), kvDim});
                mat.accept(p + "attn_v.weight", new int[]{h.dim(), kvDim});
            }
            if (h.arch().equals("qwen2")) {
                vec.accept(p + "attn_q.bias", new double[]{qDim, 0, 0.5});
                vec.accept(p + "attn_k.bias", new double[]{kvDim, 0, 0.5});
                vec.accept(p + "attn_v.bias", new double[]{kvDim, 0, 0.5});
            }
            if (h.arch().equals("qwen3")) {
                vec.accept(p + "attn_q_norm.weight", new double[]{h.headDim(), 1, 0.2});
                vec.accept(p + "attn_k_norm.weight", new double[]{h.headDim(), 1, 0.2});
            }
            mat.accept(p + "attn_output.weight", new int[]{qDim, h.dim()});
            vec.accept(p + "ffn_norm.weight", new double[]{h.dim(), 1, 0.2});
            if (h.arch().equals("phi3")) {
                mat.accept(p + "ffn_up.weight", new int[]{h.dim(), 2 * h.ffn()});
            } else {
                mat.accept(p + "ffn_gate.weight", new int[]{h.dim(), h.ffn()});
                mat.accept(p + "ffn_up.weight", new int[]{h.dim(), h.ffn()});
            }
            mat.accept(p + "ffn_down.weight", new int[]{h.ffn(), h.dim()});
            if (h.arch().equals("gemma2")) {
                vec.accept(p + "post_attention_norm.weight", new double[]{h.dim(), 1, 0.2});
                vec.accept(p + "post_ffw_norm.weight", new double[]{h.dim(), 1, 0.2});
            }
        }
        Map<String, GGUFValue> md = new LinkedHashMap<>();
        String a = h.arch() + ".";
        md.put("general.architecture", GGUFValue.of(h.arch()));
        md.put(a + "context_length", GGUFValue.ofU32(128));
        md.put(a + "embedding_length", GGUFValue.ofU32(h.dim()));
        md.put(a + "block_count", GGUFValue.ofU32(h.layers()));
        md.put(a + "feed_forward_length", GGUFValue.ofU32(h.ffn()));
        md.put(a + "attention.head_count", GGUFValue.ofU32(h.heads()));
        md.put(a + "attention.head_count_kv", GGUFValue.ofU32(h.kvHeads()));
        if (h.headDim() != h.dim() / h.heads()) {
            md.put(a + "attention.key_length", GGUFValue.ofU32(h.headDim()));
            md.put(a + "attention.value_length", GGUFValue.ofU32(h.headDim()));
        }
        md.put(a + "attention.layer_norm_rms_epsilon", GGUFValue.of(h.eps()));
        md.put(a + "rope.freq_base", GGUFValue.of(h.ropeBase()));
        md.put(a + "rope.dimension_count", GGUFValue.ofU32(h.ropeDim()));
        if (h.attnCap() > 0) md.put(a + "attn_logit_softcapping", GGUFValue.of(h.attnCap()));
        if (h.finalCap() > 0) md.put(a + "final_logit_softcapping", GGUFValue.of(h.finalCap()));
        if (h.window() > 0) md.put(a + "attention.sliding_window", GGUFValue.ofU32(h.window()));
        if (h.arch().equals("phi3")) {
            md.put(a + "rope.scaling.original_context_length", GGUFValue.ofU32(16));
            md.put(a + "rope.scaling.attn_factor", GGUFValue.of(1.1f));
        }
        return new Synth(h, w, shapes, md);
    }

    // ------------------------------------------------------------------ tests

    static final int[] TOKENS = {1, 17, 42, 5, 63, 0, 9, 33, 33, 21, 8, 50, 2, 44};

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama", "qwen2", "qwen3", "phi3", "gemma2"})
    void matchesFloat64Reference(String arch) {
        Synth s = build(hp(arch), 42 + arch.hashCode());
        double[][] ref = TransformerReference.logits(s.hp(), s.w(), TOKENS);
        try (LanguageModel lm = Models.load(s.source(), POOL)) {
            TransformerModel m = (TransformerModel) lm;
            assertEquals(arch, m.config().architecture());
            int v = s.hp().vocab();
            // one batched prefill of the first 10 tokens, then the rest one by one (decode)
            var st = m.newState(32, GGMLType.F32);
            int cut = 10;
            float[] all = m.forward(st, java.util.Arrays.copyOf(TOKENS, cut), true);
            double maxDiff = 0, maxRef = 0;
            for (int pos = 0; pos < TOKENS.length; pos++) {
                float[] got;
                int off;
                if (pos < cut) {
                    got = all;
                    off = pos * v;
                } else {
                    got = m.forward(st, new int[]{TOKENS[pos]}, false);
                    off = 0;
                }
                for (int i = 0; i < v; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(got[off + i] - ref[pos][i]));
                    maxRef = Math.max(maxRef, Math.abs(ref[pos][i]));
                }
            }
            System.out.printf("%s: max |logit - ref| = %.2e (max |ref| %.2f)%n", arch, maxDiff, maxRef);
            assertTrue(maxRef > 0.5, "degenerate synthetic model");
            assertTrue(maxDiff <= 2e-4 * Math.max(1, maxRef), arch + ": max logit difference " + maxDiff);
        }
    }

    /** The default F16 cache stays close to the float64 reference too. */
    @Test
    void f16CacheStaysClose() {
        Synth s = build(hp("gemma2"), 7);
        double[][] ref = TransformerReference.logits(s.hp(), s.w(), TOKENS);
        try (LanguageModel m = Models.load(s.source(), POOL)) {
            float[] all = m.forward(m.newState(32), TOKENS, true);
            int v = s.hp().vocab();
            for (int pos = 0; pos < TOKENS.length; pos++) {
                for (int i = 0; i < v; i++) {
                    assertEquals(ref[pos][i], all[pos * v + i], 5e-2, "position " + pos + " logit " + i);
                }
            }
        }
    }

    @Test
    void loaderErrorsNameFileTensorAndExpectation() {
        Synth s = build(hp("qwen2"), 3);
        s.w().remove("blk.1.attn_k.bias");
        var e = assertThrows(ModelFormatException.class, () -> Models.load(s.source(), POOL));
        assertEquals("synth-qwen2.gguf: tensor 'blk.1.attn_k.bias' missing (architecture qwen2)", e.getMessage());

        Synth s2 = build(hp("llama"), 3);
        s2.shapes().put("blk.0.attn_q.weight", new long[]{32, 16});
        s2.w().put("blk.0.attn_q.weight", new float[32 * 16]);
        var e2 = assertThrows(ModelFormatException.class, () -> Models.load(s2.source(), POOL));
        assertEquals("synth-llama.gguf: tensor 'blk.0.attn_q.weight' has shape [32, 16]; expected [32, 32] (architecture llama)",
                e2.getMessage());

        Synth s3 = build(hp("llama"), 3);
        s3.md().remove("llama.block_count");
        var e3 = assertThrows(ModelFormatException.class, () -> Models.load(s3.source(), POOL));
        assertTrue(e3.getMessage().contains("'llama.block_count' is missing"), e3.getMessage());

        Synth s4 = build(hp("llama"), 3);
        s4.md().put("general.architecture", GGUFValue.of("rwkv6"));
        var e4 = assertThrows(ModelFormatException.class, () -> Models.load(s4.source(), POOL));
        assertTrue(e4.getMessage().startsWith("synth-llama.gguf: unsupported architecture 'rwkv6'"), e4.getMessage());
    }
}
