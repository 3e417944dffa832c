package io.jlm.models.hybrid;

import io.jlm.formats.gguf.GGUFValue;
import io.jlm.formats.gguf.GGUFWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A small random-weight {@code jlm} model described as docs/JLM_ARCH.md specifies it: metadata and F32 tensors in
 * the spec's row-major {@code [rows, cols]} layout, written to a GGUF file with {@link GGUFWriter}
 * ({@code ne = {cols, rows}}). Fields may be changed before {@link #generate}; metadata and tensors may be edited
 * after it (to make broken files).
 */
final class HybridFixture {
    String pattern;
    int d = 16, nh = 4, nkv = 2, f = 24, vocab = 40, ctx = 64, window = 3;
    int modes = 4, shift = 3, di = 24, dconv = 4, ds = 4, dtr = 2;
    float eps = 1e-5f, theta = 10000f, factor = 1f;
    String position = "rope", scaling = "none";
    boolean tied = false;

    final Map<String, GGUFValue> metadata = new LinkedHashMap<>();
    /** Tensor data by GGUF name, row-major in the spec's [rows, cols] layout. */
    final Map<String, float[]> data = new LinkedHashMap<>();
    /** Spec dimensions (rows first) by GGUF name. */
    final Map<String, long[]> dims = new LinkedHashMap<>();

    HybridFixture(String pattern) {
        this.pattern = pattern;
    }

    int hs() { return d / nh; }

    /** Fills metadata and random tensors for the current fields. */
    HybridFixture generate(long seed) {
        metadata.clear();
        data.clear();
        dims.clear();
        metadata.put("general.architecture", GGUFValue.of("jlm"));
        metadata.put("general.name", GGUFValue.of("tiny-jlm-" + pattern));
        metadata.put("jlm.layers", GGUFValue.of(pattern));
        metadata.put("jlm.block_count", GGUFValue.ofU32(pattern.length()));
        metadata.put("jlm.context_length", GGUFValue.ofU32(ctx));
        metadata.put("jlm.embedding_length", GGUFValue.ofU32(d));
        metadata.put("jlm.feed_forward_length", GGUFValue.ofU32(f));
        metadata.put("jlm.attention.head_count", GGUFValue.ofU32(nh));
        metadata.put("jlm.attention.head_count_kv", GGUFValue.ofU32(nkv));
        metadata.put("jlm.attention.sliding_window", GGUFValue.ofU32(window));
        metadata.put("jlm.attention.layer_norm_rms_epsilon", GGUFValue.of(eps));
        metadata.put("jlm.position", GGUFValue.of(position));
        metadata.put("jlm.rope.freq_base", GGUFValue.of(theta));
        metadata.put("jlm.rope.scaling.type", GGUFValue.of(scaling));
        metadata.put("jlm.rope.scaling.factor", GGUFValue.of(factor));
        metadata.put("jlm.s4d.modes", GGUFValue.ofU32(modes));
        metadata.put("jlm.h3.shift_size", GGUFValue.ofU32(shift));
        metadata.put("jlm.ssm.inner_size", GGUFValue.ofU32(di));
        metadata.put("jlm.ssm.conv_kernel", GGUFValue.ofU32(dconv));
        metadata.put("jlm.ssm.state_size", GGUFValue.ofU32(ds));
        metadata.put("jlm.ssm.time_step_rank", GGUFValue.ofU32(dtr));

        Random r = new Random(seed);
        put("token_embd.weight", r, 1.0, 0, vocab, d);
        if (position.equals("learned")) put("position_embd.weight", r, 0.5, 0, ctx, d);
        put("output_norm.weight", r, 0.2, 1, d);
        if (!tied) put("output.weight", r, 1 / Math.sqrt(d), 0, vocab, d);
        int hs = hs();
        for (int i = 0; i < pattern.length(); i++) {
            String p = "blk." + i + ".";
            put(p + "norm.weight", r, 0.2, 1, d);
            switch (pattern.charAt(i)) {
                case 'A', 'W' -> {
                    mat(p + "attn_q.weight", r, nh * hs, d);
                    mat(p + "attn_k.weight", r, nkv * hs, d);
                    mat(p + "attn_v.weight", r, nkv * hs, d);
                    mat(p + "attn_output.weight", r, d, nh * hs);
                }
                case 'F' -> {
                    mat(p + "ffn_gate.weight", r, f, d);
                    mat(p + "ffn_up.weight", r, f, d);
                    mat(p + "ffn_down.weight", r, d, f);
                }
                case 'L', 'R' -> {
                    for (String n : new String[]{"attn_q", "attn_k", "attn_v", "attn_output"}) mat(p + n + ".weight", r, d, d);
                    if (pattern.charAt(i) == 'R') mat(p + "attn_gate.weight", r, d, d);
                }
                case 'S' -> {
                    s4d(p, r);
                    mat(p + "s4d_out.weight", r, d, d);
                }
                case 'H' -> {
                    for (String n : new String[]{"attn_q", "attn_k", "attn_v", "attn_output"}) mat(p + n + ".weight", r, d, d);
                    put(p + "h3_shift.weight", r, 0.5, 0, d, shift);
                    s4d(p, r);
                }
                case 'M' -> {
                    mat(p + "ssm_in.weight", r, 2 * di, d);
                    put(p + "ssm_conv1d.weight", r, 0.5, 0, di, dconv);
                    put(p + "ssm_conv1d.bias", r, 0.1, 0, di);
                    mat(p + "ssm_x.weight", r, dtr + 2 * ds, di);
                    mat(p + "ssm_dt.weight", r, di, dtr);
                    put(p + "ssm_dt.bias", r, 0.5, -1, di);
                    float[] a = put(p + "ssm_a.weight", r, 1.0, 0, di, ds);
                    for (int j = 0; j < a.length; j++) a[j] = (float) -Math.exp(a[j]);
                    put(p + "ssm_d.weight", r, 0.5, 1, di);
                    mat(p + "ssm_out.weight", r, d, di);
                }
                default -> throw new IllegalArgumentException("letter " + pattern.charAt(i));
            }
        }
        return this;
    }

    private void s4d(String p, Random r) {
        float[] logDt = put(p + "s4d_log_dt.weight", r, 0, 0, d);
        for (int c = 0; c < d; c++) logDt[c] = (float) (Math.log(0.05) + r.nextDouble() * (Math.log(0.5) - Math.log(0.05)));
        put(p + "s4d_a_log.weight", r, 0.3, Math.log(0.5), d, modes);
        float[] aIm = put(p + "s4d_a_im.weight", r, 0, 0, d, modes);
        for (int i = 0; i < aIm.length; i++) aIm[i] = (float) (Math.PI * (i % modes) + 0.3 * r.nextGaussian());
        put(p + "s4d_c_re.weight", r, 1 / Math.sqrt(modes), 0, d, modes);
        put(p + "s4d_c_im.weight", r, 1 / Math.sqrt(modes), 0, d, modes);
        put(p + "s4d_d.weight", r, 1.0, 0, d);
    }

    private void mat(String name, Random r, int rows, int cols) {
        put(name, r, 1 / Math.sqrt(cols), 0, rows, cols);
    }

    private float[] put(String name, Random r, double scale, double mean, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (mean + scale * r.nextGaussian());
        data.put(name, v);
        dims.put(name, shape);
        return v;
    }

    float[] t(String name) {
        float[] v = data.get(name);
        if (v == null) throw new IllegalArgumentException("no tensor " + name);
        return v;
    }

    /** Writes the model as {@code dir/name.gguf} (GGUF dimensions reversed: ne = {cols, rows}). */
    Path write(Path dir, String name) throws IOException {
        GGUFWriter w = new GGUFWriter();
        for (var e : metadata.entrySet()) w.put(e.getKey(), e.getValue());
        for (var e : dims.entrySet()) {
            long[] sp = e.getValue();
            long[] ne = new long[sp.length];
            for (int i = 0; i < sp.length; i++) ne[i] = sp[sp.length - 1 - i];
            w.addTensor(e.getKey(), ne, data.get(e.getKey()));
        }
        Path p = dir.resolve(name + ".gguf");
        w.write(p);
        return p;
    }
}
