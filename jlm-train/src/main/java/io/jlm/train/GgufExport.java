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
        String a = "llama";
        int d = c.nEmbd();
        GGUFWriter w = header(model, tokens, name, a);
        w.putU32(a + ".feed_forward_length", c.ffn());
        w.putU32(a + ".attention.head_count", c.nHead());
        w.putU32(a + ".attention.head_count_kv", c.nHead());
        w.putF32(a + ".rope.freq_base", c.ropeTheta());
        w.putU32(a + ".rope.dimension_count", c.headSize());
        for (int l = 0; l < c.nLayer(); l++) {
            String p = "blk." + l + ".";
            vector(w, p + "attn_norm.weight", model.get(p + "attn_norm"));
            attention(w, model, p, d, d);
            vector(w, p + "ffn_norm.weight", model.get(p + "ffn_norm"));
            swiglu(w, model, p);
        }
        w.write(out);
    }

    /** A GGUF holding only the tokenizer of a {@link #charVocabulary} (to tokenize data before a model exists). */
    public static void writeTokenizer(String[] tokens, Path out) throws IOException {
        GGUFWriter w = new GGUFWriter();
        w.putString("general.architecture", "llama");
        w.putString("general.name", "char-vocabulary");
        tokenizer(w, tokens);
        w.write(out);
    }

    /** The llama (SentencePiece-style) tokenizer keys for a {@link #charVocabulary}. */
    private static void tokenizer(GGUFWriter w, String[] tokens) {
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

    }

    /**
     * Writes a trained model: {@link ModelConfig.Arch#LLAMA} as {@code llama}, {@link ModelConfig.Arch#HYBRID} as
     * {@code mamba} when every sublayer is {@code M}, else as the {@code jlm} architecture (docs/JLM_ARCH.md).
     */
    public static void writeAny(Model model, String[] tokens, String name, Path out) throws IOException {
        if (model.cfg.arch() == ModelConfig.Arch.LLAMA) write(model, tokens, name, out);
        else if (model.cfg.arch() == ModelConfig.Arch.HYBRID) {
            if (model.cfg.mixers().layers().chars().allMatch(ch -> ch == 'M')) writeMamba(model, tokens, name, out);
            else writeJlm(model, tokens, name, out);
        } else throw new IllegalArgumentException("GGUF export: " + model.cfg.arch()
                + " models have no GGUF architecture (train LLAMA or HYBRID)");
    }

    private static GGUFWriter header(Model model, String[] tokens, String name, String a) {
        ModelConfig c = model.cfg;
        if (tokens.length != c.vocab())
            throw new IllegalArgumentException("GGUF export: " + tokens.length + " tokens for a vocabulary of " + c.vocab());
        GGUFWriter w = new GGUFWriter();
        w.putString("general.architecture", a);
        w.putString("general.name", name);
        w.putU32(a + ".context_length", c.blockSize());
        w.putU32(a + ".embedding_length", c.nEmbd());
        w.putU32(a + ".block_count", c.nLayer());
        w.putF32(a + ".attention.layer_norm_rms_epsilon", c.normEps());
        w.putU32("general.file_type", 0);
        tokenizer(w, tokens);
        int d = c.nEmbd();
        matrix(w, "token_embd.weight", model.get("tok_embd").data, c.vocab(), d);
        vector(w, "output_norm.weight", model.get("output_norm"));
        matrix(w, "output.weight", model.get("output").data, c.vocab(), d);
        return w;
    }

    /** An all-{@code M} HYBRID model as a standard {@code mamba} GGUF (llama.cpp runs it). */
    public static void writeMamba(Model model, String[] tokens, String name, Path out) throws IOException {
        MixerConfig mx = model.cfg.mixers();
        GGUFWriter w = header(model, tokens, name, "mamba");
        w.putU32("mamba.ssm.conv_kernel", mx.ssmConv());
        w.putU32("mamba.ssm.inner_size", mx.ssmInner());
        w.putU32("mamba.ssm.state_size", mx.ssmState());
        w.putU32("mamba.ssm.time_step_rank", mx.ssmDtRank());
        for (int l = 0; l < model.cfg.nLayer(); l++) {
            String p = "blk." + l + ".";
            vector(w, p + "attn_norm.weight", model.get(p + "norm"));
            mambaTensors(w, model, p, "");
        }
        w.write(out);
    }

    private static void mambaTensors(GGUFWriter w, Model model, String p, String suffix) {
        MixerConfig mx = model.cfg.mixers();
        int d = model.cfg.nEmbd(), di = mx.ssmInner(), ds = mx.ssmState(), dtr = mx.ssmDtRank();
        matrix(w, p + "ssm_in.weight", model.get(p + "ssm_in").data, 2 * di, d);
        matrix(w, p + "ssm_conv1d.weight", model.get(p + "ssm_conv1d").data, di, mx.ssmConv());
        vector(w, p + "ssm_conv1d.bias", model.get(p + "ssm_conv1d_b"));
        matrix(w, p + "ssm_x.weight", model.get(p + "ssm_x").data, dtr + 2 * ds, di);
        matrix(w, p + "ssm_dt.weight", model.get(p + "ssm_dt").data, di, dtr);
        vector(w, p + "ssm_dt.bias", model.get(p + "ssm_dt_b"));
        float[] aLog = model.get(p + "ssm_a_log").data, a = new float[aLog.length];
        for (int i = 0; i < a.length; i++) a[i] = -(float) Math.exp(aLog[i]);
        matrix(w, p + "ssm_a" + suffix, a, di, ds);
        vector(w, p + "ssm_d" + suffix, model.get(p + "ssm_d"));
        matrix(w, p + "ssm_out.weight", model.get(p + "ssm_out").data, d, di);
    }

    /** A HYBRID model as the {@code jlm} architecture: metadata and tensors as docs/JLM_ARCH.md lists them. */
    public static void writeJlm(Model model, String[] tokens, String name, Path out) throws IOException {
        ModelConfig c = model.cfg;
        MixerConfig mx = c.mixers();
        String a = "jlm";
        GGUFWriter w = header(model, tokens, name, a);
        int d = c.nEmbd(), nh = c.nHead(), nkv = mx.nKvHead(), hs = c.headSize();
        w.putString(a + ".layers", mx.layers());
        w.putU32(a + ".feed_forward_length", c.ffn());
        w.putU32(a + ".attention.head_count", nh);
        w.putU32(a + ".attention.head_count_kv", nkv);
        w.putU32(a + ".attention.sliding_window", mx.window());
        w.putString(a + ".position", mx.position().name().toLowerCase(java.util.Locale.ROOT));
        w.putF32(a + ".rope.freq_base", c.ropeTheta());
        w.putString(a + ".rope.scaling.type", mx.scaling().name().toLowerCase(java.util.Locale.ROOT));
        w.putF32(a + ".rope.scaling.factor", mx.factor());
        w.putU32(a + ".s4d.modes", mx.s4dModes());
        w.putU32(a + ".h3.shift_size", mx.h3Shift());
        w.putU32(a + ".ssm.inner_size", mx.ssmInner());
        w.putU32(a + ".ssm.conv_kernel", mx.ssmConv());
        w.putU32(a + ".ssm.state_size", mx.ssmState());
        w.putU32(a + ".ssm.time_step_rank", mx.ssmDtRank());
        if (mx.position() == MixerConfig.Position.LEARNED)
            matrix(w, "position_embd.weight", model.get("pos_embd").data, c.blockSize(), d);
        String pat = mx.layers();
        for (int l = 0; l < pat.length(); l++) {
            String p = "blk." + l + ".";
            vector(w, p + "norm.weight", model.get(p + "norm"));
            char kind = pat.charAt(l);
            switch (kind) {
                case 'A', 'W', 'L', 'R', 'H' -> {
                    boolean softmax = kind == 'A' || kind == 'W';
                    attention(w, model, p, softmax ? nh * hs : d, softmax ? nkv * hs : d);
                    if (kind == 'R') matrix(w, p + "attn_gate.weight", model.get(p + "attn_gate").data, d, d);
                    if (kind == 'H') {
                        matrix(w, p + "h3_shift.weight", model.get(p + "h3_shift").data, d, mx.h3Shift());
                        s4dTensors(w, model, p, mx.s4dModes());
                    }
                }
                case 'F' -> swiglu(w, model, p);
                case 'S' -> {
                    s4dTensors(w, model, p, mx.s4dModes());
                    matrix(w, p + "s4d_out.weight", model.get(p + "s4d_out").data, d, d);
                }
                case 'M' -> mambaTensors(w, model, p, ".weight");
                default -> throw new IllegalStateException("layer letter " + kind);
            }
        }
        w.write(out);
    }

    /** {@code attn_q/k/v} split from the fused training weight ({@code qRows} + 2 {@code kvRows} rows), and {@code attn_output}. */
    private static void attention(GGUFWriter w, Model model, String p, int qRows, int kvRows) {
        int d = model.cfg.nEmbd();
        float[] qkv = model.get(p + "attn_qkv").data;
        matrix(w, p + "attn_q.weight", Arrays.copyOfRange(qkv, 0, qRows * d), qRows, d);
        matrix(w, p + "attn_k.weight", Arrays.copyOfRange(qkv, qRows * d, (qRows + kvRows) * d), kvRows, d);
        matrix(w, p + "attn_v.weight", Arrays.copyOfRange(qkv, (qRows + kvRows) * d, (qRows + 2 * kvRows) * d), kvRows, d);
        matrix(w, p + "attn_output.weight", model.get(p + "attn_output").data, d, qRows);
    }

    private static void swiglu(GGUFWriter w, Model model, String p) {
        int d = model.cfg.nEmbd(), f = model.cfg.ffn();
        matrix(w, p + "ffn_gate.weight", model.get(p + "ffn_gate").data, f, d);
        matrix(w, p + "ffn_up.weight", model.get(p + "ffn_up").data, f, d);
        matrix(w, p + "ffn_down.weight", model.get(p + "ffn_down").data, d, f);
    }

    private static void s4dTensors(GGUFWriter w, Model model, String p, int n) {
        int d = model.cfg.nEmbd();
        vector(w, p + "s4d_log_dt.weight", model.get(p + "s4d_log_dt"));
        for (String part : new String[]{"s4d_a_log", "s4d_a_im", "s4d_c_re", "s4d_c_im"})
            matrix(w, p + part + ".weight", model.get(p + part).data, d, n);
        vector(w, p + "s4d_d.weight", model.get(p + "s4d_d"));
    }

    private static void vector(GGUFWriter w, String name, Tensor t) {
        w.addTensor(name, new long[]{t.size()}, t.data.clone());
    }

    /** A [rows, cols] row-major training matrix (PyTorch layout) is GGUF shape {cols, rows} with the same bytes. */
    private static void matrix(GGUFWriter w, String name, float[] data, int rows, int cols) {
        w.addTensor(name, new long[]{cols, rows}, data.clone());
    }
}
