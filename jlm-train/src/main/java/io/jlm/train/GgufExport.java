package io.jlm.train;

import io.jlm.formats.gguf.GGUFWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes a trained {@link ModelConfig.Arch#LLAMA} model as a standard {@code llama} GGUF (F32 weights, the tensor
 * names and metadata llama.cpp and the jlm loader expect). The fused {@code attn_qkv} training weight is split into
 * {@code attn_q/k/v}; RoPE is trained in llama.cpp's normal (adjacent-pair) mode, so no permutation is needed.
 */
public final class GgufExport {
    private GgufExport() {}

    /**
     * A vocabulary for a character-level model: token {@code i < chars} is character {@code i} of {@code chars}
     * (space as SentencePiece's {@code ▁}, control characters as byte tokens {@code <0xNN>}), followed by
     * {@code <unk>}, {@code <s>}, {@code </s>}; the model's vocabulary must be {@code chars + 3}.
     */
    public static String[] charVocabulary(String chars) {
        int[] cps = chars.codePoints().toArray();
        String[] t = new String[cps.length + 3];
        for (int i = 0; i < cps.length; i++) {
            int cp = cps[i];
            t[i] = cp == ' ' ? "\u2581" : cp < 0x20 || cp == 0x7F ? String.format("<0x%02X>", cp) : new String(Character.toChars(cp));
        }
        t[cps.length] = "<unk>"; t[cps.length + 1] = "<s>"; t[cps.length + 2] = "</s>";
        return t;
    }

    public static void write(Model model, String[] tokens, String name, Path out) throws IOException {
        ModelConfig c = model.cfg;
        if (c.arch() != ModelConfig.Arch.LLAMA)
            throw new IllegalArgumentException("GGUF export: only LLAMA-architecture models export as 'llama', got " + c.arch());
        if (tokens.length != c.vocab())
            throw new IllegalArgumentException("GGUF export: " + tokens.length + " tokens for a vocabulary of " + c.vocab());
        GGUFWriter w = new GGUFWriter();
        String a = "llama";
        int d = c.nEmbd();
        w.putString("general.architecture", a);
        w.putString("general.name", name);
        w.putU32(a + ".context_length", c.blockSize());
        w.putU32(a + ".embedding_length", d);
        w.putU32(a + ".block_count", c.nLayer());
        w.putU32(a + ".feed_forward_length", c.ffn());
        w.putU32(a + ".attention.head_count", c.nHead());
        w.putU32(a + ".attention.head_count_kv", c.nHead());
        w.putF32(a + ".rope.freq_base", c.ropeTheta());
        w.putF32(a + ".attention.layer_norm_rms_epsilon", c.normEps());
        w.putU32(a + ".rope.dimension_count", c.headSize());
        w.putU32("general.file_type", 0);
        int n = tokens.length;
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) types[i] = tokens[i].matches("<0x[0-9A-F]{2}>") ? 6 : 1;
        types[n - 3] = 2; types[n - 2] = 3; types[n - 1] = 3;
        w.putString("tokenizer.ggml.model", "llama");
        w.putStrings("tokenizer.ggml.tokens", tokens);
        w.putF32s("tokenizer.ggml.scores", scores);
        w.putI32s("tokenizer.ggml.token_type", types);
        w.putU32("tokenizer.ggml.unknown_token_id", n - 3);
        w.putU32("tokenizer.ggml.bos_token_id", n - 2);
        w.putU32("tokenizer.ggml.eos_token_id", n - 1);
        w.putBool("tokenizer.ggml.add_bos_token", false);

        matrix(w, "token_embd.weight", model.get("tok_embd").data, c.vocab(), d);
        w.addTensor("output_norm.weight", new long[]{d}, model.get("output_norm").data.clone());
        matrix(w, "output.weight", model.get("output").data, c.vocab(), d);
        for (int l = 0; l < c.nLayer(); l++) {
            String p = "blk." + l + ".";
            float[] qkv = model.get(p + "attn_qkv").data;
            w.addTensor(p + "attn_norm.weight", new long[]{d}, model.get(p + "attn_norm").data.clone());
            matrix(w, p + "attn_q.weight", Arrays.copyOfRange(qkv, 0, d * d), d, d);
            matrix(w, p + "attn_k.weight", Arrays.copyOfRange(qkv, d * d, 2 * d * d), d, d);
            matrix(w, p + "attn_v.weight", Arrays.copyOfRange(qkv, 2 * d * d, 3 * d * d), d, d);
            matrix(w, p + "attn_output.weight", model.get(p + "attn_output").data, d, d);
            w.addTensor(p + "ffn_norm.weight", new long[]{d}, model.get(p + "ffn_norm").data.clone());
            matrix(w, p + "ffn_gate.weight", model.get(p + "ffn_gate").data, c.ffn(), d);
            matrix(w, p + "ffn_up.weight", model.get(p + "ffn_up").data, c.ffn(), d);
            matrix(w, p + "ffn_down.weight", model.get(p + "ffn_down").data, d, c.ffn());
        }
        w.write(out);
    }

    /** A [rows, cols] row-major training matrix (PyTorch layout) is GGUF shape {cols, rows} with the same bytes. */
    private static void matrix(GGUFWriter w, String name, float[] data, int rows, int cols) {
        w.addTensor(name, new long[]{cols, rows}, data.clone());
    }
}
