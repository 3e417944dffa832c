package io.jlm.models;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Independent float64 reference implementation of the supported decoder-only transformer architectures, written
 * from the architecture definitions with plain loops, one token at a time (no code shared with the engine).
 * Used by {@link SyntheticArchTest} (in-memory float models) and {@link SyntheticModelTest} (written GGUF files).
 */
final class TransformerReference {
    private TransformerReference() {}

    /** Hyper-parameters of a model. */
    record Hp(String arch, int dim, int layers, int heads, int kvHeads, int headDim, int ffn, int vocab, int ropeDim,
              float ropeBase, float eps, float attnCap, float finalCap, int window, boolean ropeFactors) {}

    /** A product with the named weight matrix. */
    interface Product {
        double[] apply(String name, double[] x, int rows);
    }

    /**
     * Logits (double) for every position of {@code tokens}, computed one token at a time from float weights by GGUF
     * tensor name (matrices row-major: [ne1][ne0]).
     */
    static double[][] logits(Hp h, Map<String, float[]> w, int[] tokens) {
        Product mm = (name, x, rows) -> matvec(w.get(name), x, rows);
        String arch = h.arch();
        boolean neox = !arch.equals("llama");
        boolean gemma = arch.equals("gemma2");
        int hd = h.headDim(), qDim = h.heads() * hd, kvDim = h.kvHeads() * hd;
        List<List<double[]>> keys = new ArrayList<>(), values = new ArrayList<>();
        for (int l = 0; l < h.layers(); l++) {
            keys.add(new ArrayList<>());
            values.add(new ArrayList<>());
        }
        double[][] out = new double[tokens.length][];
        for (int pos = 0; pos < tokens.length; pos++) {
            double[] x = new double[h.dim()];
            for (int i = 0; i < h.dim(); i++) x[i] = w.get("token_embd.weight")[tokens[pos] * h.dim() + i];
            if (gemma) for (int i = 0; i < h.dim(); i++) x[i] *= Math.sqrt(h.dim());
            for (int l = 0; l < h.layers(); l++) {
                String p = "blk." + l + ".";
                double[] xn = rms(x, w.get(p + "attn_norm.weight"), h.eps());
                double[] q, k, v;
                if (arch.equals("phi3")) {
                    double[] qkv = mm.apply(p + "attn_qkv.weight", xn, qDim + 2 * kvDim);
                    q = java.util.Arrays.copyOfRange(qkv, 0, qDim);
                    k = java.util.Arrays.copyOfRange(qkv, qDim, qDim + kvDim);
                    v = java.util.Arrays.copyOfRange(qkv, qDim + kvDim, qDim + 2 * kvDim);
                } else {
                    q = mm.apply(p + "attn_q.weight", xn, qDim);
                    k = mm.apply(p + "attn_k.weight", xn, kvDim);
                    v = mm.apply(p + "attn_v.weight", xn, kvDim);
                }
                if (arch.equals("qwen2")) {
                    for (int i = 0; i < qDim; i++) q[i] += w.get(p + "attn_q.bias")[i];
                    for (int i = 0; i < kvDim; i++) k[i] += w.get(p + "attn_k.bias")[i];
                    for (int i = 0; i < kvDim; i++) v[i] += w.get(p + "attn_v.bias")[i];
                }
                if (arch.equals("qwen3")) {
                    for (int hh = 0; hh < h.heads(); hh++) headNorm(q, hh * hd, hd, w.get(p + "attn_q_norm.weight"), h.eps());
                    for (int hh = 0; hh < h.kvHeads(); hh++) headNorm(k, hh * hd, hd, w.get(p + "attn_k_norm.weight"), h.eps());
                }
                // the tests run states of 32 positions: more than phi3's original context 16 -> long factors
                float[] factors = arch.equals("phi3") ? w.get("rope_factors_long.weight") : w.get("rope_freqs.weight");
                double mag = arch.equals("phi3") ? 1.1f : 1;
                for (int hh = 0; hh < h.heads(); hh++) rope(q, hh * hd, pos, h, neox, factors, mag);
                for (int hh = 0; hh < h.kvHeads(); hh++) rope(k, hh * hd, pos, h, neox, factors, mag);
                keys.get(l).add(k);
                values.get(l).add(v);
                double[] att = new double[qDim];
                boolean windowed = gemma && l % 2 == 0;
                for (int hh = 0; hh < h.heads(); hh++) {
                    int g = hh / (h.heads() / h.kvHeads());
                    double[] sc = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= pos; j++) {
                        if (windowed && pos - j >= h.window()) {
                            sc[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double d = 0;
                        for (int i = 0; i < hd; i++) d += q[hh * hd + i] * keys.get(l).get(j)[g * hd + i];
                        d /= Math.sqrt(hd);
                        if (h.attnCap() > 0) d = h.attnCap() * Math.tanh(d / h.attnCap());
                        sc[j] = d;
                        max = Math.max(max, d);
                    }
                    double sum = 0;
                    for (int j = 0; j <= pos; j++) {
                        sc[j] = Math.exp(sc[j] - max);
                        sum += sc[j];
                    }
                    for (int j = 0; j <= pos; j++) {
                        for (int i = 0; i < hd; i++) att[hh * hd + i] += sc[j] / sum * values.get(l).get(j)[g * hd + i];
                    }
                }
                double[] o = mm.apply(p + "attn_output.weight", att, h.dim());
                if (gemma) o = rms(o, w.get(p + "post_attention_norm.weight"), h.eps());
                for (int i = 0; i < h.dim(); i++) x[i] += o[i];
                xn = rms(x, w.get(p + "ffn_norm.weight"), h.eps());
                double[] gate, up;
                if (arch.equals("phi3")) {
                    double[] gu = mm.apply(p + "ffn_up.weight", xn, 2 * h.ffn());
                    gate = java.util.Arrays.copyOfRange(gu, 0, h.ffn());
                    up = java.util.Arrays.copyOfRange(gu, h.ffn(), 2 * h.ffn());
                } else {
                    gate = mm.apply(p + "ffn_gate.weight", xn, h.ffn());
                    up = mm.apply(p + "ffn_up.weight", xn, h.ffn());
                }
                double[] hid = new double[h.ffn()];
                for (int i = 0; i < h.ffn(); i++) {
                    double a = gate[i];
                    double act = gemma ? 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a)))
                            : a / (1 + Math.exp(-a));
                    hid[i] = act * up[i];
                }
                double[] d = mm.apply(p + "ffn_down.weight", hid, h.dim());
                if (gemma) d = rms(d, w.get(p + "post_ffw_norm.weight"), h.eps());
                for (int i = 0; i < h.dim(); i++) x[i] += d[i];
            }
            double[] xn = rms(x, w.get("output_norm.weight"), h.eps());
            String head = w.containsKey("output.weight") ? "output.weight" : "token_embd.weight";
            double[] logits = mm.apply(head, xn, h.vocab());
            if (h.finalCap() > 0) for (int i = 0; i < logits.length; i++) logits[i] = h.finalCap() * Math.tanh(logits[i] / h.finalCap());
            out[pos] = logits;
        }
        return out;
    }

    static double[] matvec(float[] wRowMajor, double[] x, int rows) {
        int cols = x.length;
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) s += wRowMajor[r * cols + c] * x[c];
            y[r] = s;
        }
        return y;
    }

    static double[] rms(double[] x, float[] g, float eps) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * inv * g[i];
        return y;
    }

    static void headNorm(double[] x, int off, int n, float[] g, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += x[off + i] * x[off + i];
        double inv = 1 / Math.sqrt(ss / n + eps);
        for (int i = 0; i < n; i++) x[off + i] = x[off + i] * inv * g[i];
    }

    /**
     * RoPE on one head: normal = pairs (2i, 2i+1), neox = pairs (i, i + nRot/2); theta_i = pos * base^(-2i/nRot) / f_i;
     * cos/sin scaled by {@code mag}.
     */
    static void rope(double[] x, int off, int pos, Hp h, boolean neox, float[] factors, double mag) {
        int nRot = h.ropeDim(), half = nRot / 2;
        for (int i = 0; i < half; i++) {
            double theta = pos * Math.pow(h.ropeBase(), -2.0 * i / nRot);
            if (factors != null) theta /= factors[i];
            int a = neox ? off + i : off + 2 * i, b = neox ? off + i + half : off + 2 * i + 1;
            double x0 = x[a], x1 = x[b];
            double cos = Math.cos(theta) * mag, sin = Math.sin(theta) * mag;
            x[a] = x0 * cos - x1 * sin;
            x[b] = x0 * sin + x1 * cos;
        }
    }
}
