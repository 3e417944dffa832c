package io.jlm.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The parameters of a {@link ModelConfig} model, in a fixed order, and the recording of its training graph. */
public final class Model {
    /** A named parameter; {@code decay} marks the 2-D ones that get weight decay. */
    public record Param(String name, Tensor tensor, boolean decay) {}

    public final ModelConfig cfg;
    private final List<Param> params = new ArrayList<>();
    private final Map<String, Tensor> byName = new LinkedHashMap<>();

    /** A model with weights drawn as nanoGPT does: N(0, 0.02), residual projections N(0, 0.02/sqrt(2 n_layer)). */
    public Model(ModelConfig cfg, long seed) {
        this.cfg = cfg;
        Rng rng = new Rng(seed);
        int c = cfg.nEmbd(), f = cfg.ffn();
        float std = 0.02f, projStd = (float) (0.02 / Math.sqrt(2.0 * cfg.nLayer()));
        boolean gpt = cfg.arch() == ModelConfig.Arch.GPT;
        normal("tok_embd", rng, std, cfg.vocab(), c);
        if (gpt) normal("pos_embd", rng, std, cfg.blockSize(), c);
        for (int l = 0; l < cfg.nLayer(); l++) {
            String p = "blk." + l + ".";
            ones(p + "attn_norm", c);
            if (gpt && cfg.bias()) zeros(p + "attn_norm_b", c);
            normal(p + "attn_qkv", rng, std, 3 * c, c);
            if (cfg.bias()) zeros(p + "attn_qkv_b", 3 * c);
            normal(p + "attn_output", rng, projStd, c, c);
            if (cfg.bias()) zeros(p + "attn_output_b", c);
            ones(p + "ffn_norm", c);
            if (gpt && cfg.bias()) zeros(p + "ffn_norm_b", c);
            if (gpt) {
                normal(p + "ffn_up", rng, std, f, c);
                if (cfg.bias()) zeros(p + "ffn_up_b", f);
            } else {
                normal(p + "ffn_gate", rng, std, f, c);
                normal(p + "ffn_up", rng, std, f, c);
            }
            normal(p + "ffn_down", rng, projStd, c, f);
            if (cfg.bias()) zeros(p + "ffn_down_b", c);
        }
        ones("output_norm", c);
        if (gpt && cfg.bias()) zeros("output_norm_b", c);
        if (!gpt) normal("output", rng, std, cfg.vocab(), c);
    }

    private void register(String name, Tensor t) {
        params.add(new Param(name, t, t.rank() >= 2));
        byName.put(name, t);
    }
    private void normal(String name, Rng rng, float std, int... shape) {
        Tensor t = Tensor.zeros(name, shape);
        for (int i = 0; i < t.size(); i++) t.data[i] = (float) (rng.nextGaussian() * std);
        register(name, t);
    }
    private void ones(String name, int n) {
        Tensor t = Tensor.zeros(name, n);
        java.util.Arrays.fill(t.data, 1f);
        register(name, t);
    }
    private void zeros(String name, int n) { register(name, Tensor.zeros(name, n)); }

    public List<Param> params() { return params; }
    public Tensor get(String name) {
        Tensor t = byName.get(name);
        if (t == null) throw new IllegalArgumentException("model has no parameter " + name);
        return t;
    }
    private Tensor opt(String name) { return byName.get(name); }

    public long parameterCount() { long n = 0; for (Param p : params) n += p.tensor().size(); return n; }

    public void zeroGrad() { for (Param p : params) p.tensor().zeroGrad(); }

    /** The recorded graph for a batch: fill {@code ids}/{@code targets} ({@code B*T} each) then forward/backward. */
    public record Step(Graph graph, int batch, int[] ids, int[] targets, Tensor logits, Tensor loss) {}

    public Step build(Graph g, int batch) {
        int t = cfg.blockSize(), c = cfg.nEmbd(), rows = batch * t;
        int[] ids = new int[rows], targets = new int[rows];
        boolean gpt = cfg.arch() == ModelConfig.Arch.GPT;
        Tensor x = g.embedding(get("tok_embd"), ids);
        if (gpt) {
            int[] pos = new int[rows];
            for (int r = 0; r < rows; r++) pos[r] = r % t;
            x = g.add(x, g.embedding(get("pos_embd"), pos));
        }
        for (int l = 0; l < cfg.nLayer(); l++) {
            String p = "blk." + l + ".";
            Tensor h = norm(g, x, p + "attn_norm");
            Tensor qkv = g.linear(h, get(p + "attn_qkv"), opt(p + "attn_qkv_b"));
            if (!gpt) qkv = g.rope(qkv, t, cfg.headSize(), 2 * c, cfg.ropeTheta());
            Tensor a = g.causalAttention(qkv, batch, t, cfg.nHead());
            x = g.add(x, g.linear(a, get(p + "attn_output"), opt(p + "attn_output_b")));
            h = norm(g, x, p + "ffn_norm");
            Tensor m;
            if (gpt) m = g.geluErf(g.linear(h, get(p + "ffn_up"), opt(p + "ffn_up_b")));
            else m = g.mul(g.silu(g.linear(h, get(p + "ffn_gate"), null)), g.linear(h, get(p + "ffn_up"), null));
            x = g.add(x, g.linear(m, get(p + "ffn_down"), opt(p + "ffn_down_b")));
        }
        x = norm(g, x, "output_norm");
        Tensor logits = g.linear(x, gpt ? get("tok_embd") : get("output"), null);
        Tensor loss = g.crossEntropy(logits, targets);
        return new Step(g, batch, ids, targets, logits, loss);
    }

    private Tensor norm(Graph g, Tensor x, String name) {
        return cfg.arch() == ModelConfig.Arch.GPT
                ? g.layerNorm(x, get(name), opt(name + "_b"), cfg.normEps())
                : g.rmsNorm(x, get(name), cfg.normEps());
    }
}
