package io.jlm.models.mamba;

import io.jlm.core.tensor.GGMLType;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.formats.gguf.GGUFValue;
import io.jlm.models.WeightSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A small random-weight Mamba model held in memory (F32 tensors in GGUF layout), plus an independent
 * double-precision scalar implementation of the Mamba-1 forward pass to check {@link MambaModel} against.
 */
final class TinyMamba {
    final int dim, layers, vocab, dConv, dInner, dState, dtRank;
    final float eps = 1e-5f;
    final boolean dtBcRms;
    /** Tensor contents by GGUF name (row-major, shape[0] contiguous). */
    final Map<String, float[]> data = new HashMap<>();
    final Map<String, long[]> shapes = new LinkedHashMap<>();

    TinyMamba(long seed, int dim, int layers, int vocab, int dConv, int dInner, int dState, int dtRank, boolean dtBcRms,
              boolean tied) {
        this.dim = dim;
        this.layers = layers;
        this.vocab = vocab;
        this.dConv = dConv;
        this.dInner = dInner;
        this.dState = dState;
        this.dtRank = dtRank;
        this.dtBcRms = dtBcRms;
        Random r = new Random(seed);
        put("token_embd.weight", r, 1.0, 0, dim, vocab);
        put("output_norm.weight", r, 0.2, 1, dim);
        if (!tied) put("output.weight", r, 1 / Math.sqrt(dim), 0, dim, vocab);
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            put(p + "attn_norm.weight", r, 0.2, 1, dim);
            put(p + "ssm_in.weight", r, 1 / Math.sqrt(dim), 0, dim, 2 * dInner);
            put(p + "ssm_conv1d.weight", r, 0.5, 0, dConv, dInner);
            put(p + "ssm_conv1d.bias", r, 0.1, 0, dInner);
            put(p + "ssm_x.weight", r, 1 / Math.sqrt(dInner), 0, dInner, dtRank + 2 * dState);
            put(p + "ssm_dt.weight", r, 1 / Math.sqrt(dtRank), 0, dtRank, dInner);
            put(p + "ssm_dt.bias", r, 0.5, -1, dInner);
            float[] a = put(p + "ssm_a", r, 1.0, 0, dState, dInner);
            for (int i = 0; i < a.length; i++) a[i] = (float) -Math.exp(a[i]); // A = -exp(A_log)
            put(p + "ssm_d", r, 0.5, 1, dInner);
            put(p + "ssm_out.weight", r, 1 / Math.sqrt(dInner), 0, dInner, dim);
        }
    }

    private float[] put(String name, Random r, double scale, double mean, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (mean + scale * r.nextGaussian());
        data.put(name, v);
        shapes.put(name, shape);
        return v;
    }

    GGUFMetadata metadata() {
        Map<String, GGUFValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GGUFValue.of("mamba"));
        m.put("general.name", GGUFValue.of("tiny-mamba"));
        m.put("mamba.context_length", GGUFValue.ofU32(1024));
        m.put("mamba.embedding_length", GGUFValue.ofU32(dim));
        m.put("mamba.block_count", GGUFValue.ofU32(layers));
        m.put("mamba.ssm.conv_kernel", GGUFValue.ofU32(dConv));
        m.put("mamba.ssm.inner_size", GGUFValue.ofU32(dInner));
        m.put("mamba.ssm.state_size", GGUFValue.ofU32(dState));
        m.put("mamba.ssm.time_step_rank", GGUFValue.ofU32(dtRank));
        m.put("mamba.attention.layer_norm_rms_epsilon", GGUFValue.of(eps));
        if (dtBcRms) m.put("mamba.ssm.dt_b_c_rms", GGUFValue.of(true));
        return new GGUFMetadata(m, "tiny-mamba");
    }

    /** The weights as F32 tensors in native memory (freed by GC). */
    WeightSource source() {
        Map<String, WeightSource.Tensor> t = new HashMap<>();
        for (var e : shapes.entrySet()) {
            float[] v = data.get(e.getKey());
            MemorySegment seg = Arena.ofAuto().allocate((long) v.length * 4, 64);
            for (int i = 0; i < v.length; i++) seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v[i]);
            t.put(e.getKey(), new WeightSource.Tensor(e.getKey(), GGMLType.F32, e.getValue(), seg));
        }
        return WeightSource.of("tiny-mamba", metadata(), t);
    }

    // ---------------------------------------------------------------- scalar double-precision reference

    /** Runs {@code tokens} from an empty state, one token at a time in double precision; logits of every position. */
    double[][] reference(int[] tokens) {
        double[][][] convSt = new double[layers][dInner][dConv - 1];
        double[][][] h = new double[layers][dInner][dState];
        double[][] logits = new double[tokens.length][];
        float[] emb = data.get("token_embd.weight");
        float[] outW = data.containsKey("output.weight") ? data.get("output.weight") : emb;
        for (int p = 0; p < tokens.length; p++) {
            double[] x = new double[dim];
            for (int i = 0; i < dim; i++) x[i] = emb[tokens[p] * dim + i];
            for (int l = 0; l < layers; l++) {
                String pre = "blk." + l + ".";
                double[] xn = rms(x, data.get(pre + "attn_norm.weight"));
                double[] xz = matvec(data.get(pre + "ssm_in.weight"), xn, 2 * dInner, dim);
                float[] cw = data.get(pre + "ssm_conv1d.weight"), cb = data.get(pre + "ssm_conv1d.bias");
                double[] xc = new double[dInner];
                for (int c = 0; c < dInner; c++) {
                    double s = cb[c];
                    for (int k = 0; k < dConv - 1; k++) s += cw[c * dConv + k] * convSt[l][c][k];
                    s += cw[c * dConv + dConv - 1] * xz[c];
                    for (int k = 0; k < dConv - 2; k++) convSt[l][c][k] = convSt[l][c][k + 1];
                    if (dConv > 1) convSt[l][c][dConv - 2] = xz[c];
                    xc[c] = s / (1 + Math.exp(-s));
                }
                double[] dbc = matvec(data.get(pre + "ssm_x.weight"), xc, dtRank + 2 * dState, dInner);
                double[] dtr = java.util.Arrays.copyOfRange(dbc, 0, dtRank);
                double[] B = java.util.Arrays.copyOfRange(dbc, dtRank, dtRank + dState);
                double[] C = java.util.Arrays.copyOfRange(dbc, dtRank + dState, dtRank + 2 * dState);
                if (dtBcRms) {
                    dtr = rms(dtr, null);
                    B = rms(B, null);
                    C = rms(C, null);
                }
                double[] dt = matvec(data.get(pre + "ssm_dt.weight"), dtr, dInner, dtRank);
                float[] dtb = data.get(pre + "ssm_dt.bias"), A = data.get(pre + "ssm_a"), D = data.get(pre + "ssm_d");
                double[] yv = new double[dInner];
                for (int c = 0; c < dInner; c++) {
                    double d = dt[c] + dtb[c];
                    d = d > 20 ? d : Math.log(1 + Math.exp(d));
                    double acc = 0;
                    for (int s = 0; s < dState; s++) {
                        h[l][c][s] = h[l][c][s] * Math.exp(d * A[c * dState + s]) + d * B[s] * xc[c];
                        acc += h[l][c][s] * C[s];
                    }
                    double z = xz[dInner + c];
                    yv[c] = (acc + D[c] * xc[c]) * z / (1 + Math.exp(-z));
                }
                double[] o = matvec(data.get(pre + "ssm_out.weight"), yv, dim, dInner);
                for (int i = 0; i < dim; i++) x[i] += o[i];
            }
            logits[p] = matvec(outW, rms(x, data.get("output_norm.weight")), vocab, dim);
        }
        return logits;
    }

    private double[] rms(double[] x, float[] w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double scale = 1 / Math.sqrt(ss / x.length + eps);
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) o[i] = x[i] * scale * (w == null ? 1 : w[i]);
        return o;
    }

    private static double[] matvec(float[] w, double[] x, int rows, int cols) {
        double[] o = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < cols; i++) s += w[r * cols + i] * x[i];
            o[r] = s;
        }
        return o;
    }
}
