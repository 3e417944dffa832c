package io.jlm.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The parameters of a {@link ModelConfig} model, in a fixed order, and the recording of its training graph. */
public final class Model {
    /** A named parameter; {@code decay} marks the 2-D ones that get weight decay. */
    public record Param(String name, Tensor tensor, boolean decay) {}

    /** nanoGPT's (GPT-2's) initialisation spread. */
    public static final float DEFAULT_INIT_STD = 0.02f;

    public final ModelConfig cfg;
    private final List<Param> params = new ArrayList<>();
    private final Map<String, Tensor> byName = new LinkedHashMap<>();

    /** A model with weights drawn as nanoGPT does: N(0, 0.02), residual projections N(0, 0.02/sqrt(2 n_layer)). */
    public Model(ModelConfig cfg, long seed) {
        this(cfg, seed, DEFAULT_INIT_STD);
    }

    /**
     * A model initialised from {@code seed} with standard deviation {@code initStd} for embeddings and input
     * projections and {@code initStd / sqrt(2 layers)} ({@code / sqrt(sublayers)} for hybrids) for output projections.
     * GPT-2's 0.02 is the default; {@code 1 / sqrt(3 d)} is the spread of PyTorch's default {@code nn.Linear}
     * initialisation at width {@code d}, under which small attention models form induction heads far sooner
     * (docs/experiments/README.md).
     */
    public Model(ModelConfig cfg, long seed, float initStd) {
        if (!(initStd > 0) || !Float.isFinite(initStd))
            throw new IllegalArgumentException("model init std " + initStd + "; expected a positive finite number");
        this.cfg = cfg;
        Rng rng = new Rng(seed);
        int c = cfg.nEmbd(), f = cfg.ffn();
        float std = initStd, projStd = (float) (initStd / Math.sqrt(2.0 * cfg.nLayer()));
        if (cfg.arch() == ModelConfig.Arch.HYBRID) { initHybrid(rng, initStd); return; }
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

    private void register(String name, Tensor t) { register(name, t, t.rank() >= 2); }
    private void register(String name, Tensor t, boolean decay) {
        params.add(new Param(name, t, decay));
        byName.put(name, t);
    }

    /** Parameters of a HYBRID model (names as the {@code jlm} GGUF tensors, see docs/JLM_ARCH.md). */
    private void initHybrid(Rng rng, float initStd) {
        MixerConfig mx = cfg.mixers();
        int d = cfg.nEmbd(), f = cfg.ffn(), hs = cfg.headSize(), nh = cfg.nHead(), nkv = mx.nKvHead();
        String pat = mx.layers();
        float std = initStd, projStd = (float) (initStd / Math.sqrt(pat.length()));
        normal("tok_embd", rng, std, cfg.vocab(), d);
        if (mx.position() == MixerConfig.Position.LEARNED) normal("pos_embd", rng, std, cfg.blockSize(), d);
        for (int i = 0; i < pat.length(); i++) {
            String p = "blk." + i + ".";
            ones(p + "norm", d);
            switch (pat.charAt(i)) {
                case 'A', 'W' -> {
                    normal(p + "attn_qkv", rng, std, (nh + 2 * nkv) * hs, d);
                    normal(p + "attn_output", rng, projStd, d, nh * hs);
                }
                case 'F' -> {
                    normal(p + "ffn_gate", rng, std, f, d);
                    normal(p + "ffn_up", rng, std, f, d);
                    normal(p + "ffn_down", rng, projStd, d, f);
                }
                case 'L', 'R' -> {
                    normal(p + "attn_qkv", rng, std, 3 * d, d);
                    if (pat.charAt(i) == 'R') normal(p + "attn_gate", rng, std, d, d);
                    normal(p + "attn_output", rng, projStd, d, d);
                }
                case 'S' -> { s4d(p, rng, d, mx.s4dModes()); normal(p + "s4d_out", rng, projStd, d, d); }
                case 'H' -> {
                    normal(p + "attn_qkv", rng, std, 3 * d, d);
                    fixed(p + "h3_shift", rng, (float) (1 / Math.sqrt(mx.h3Shift())), d, mx.h3Shift());
                    s4d(p, rng, d, mx.s4dModes());
                    normal(p + "attn_output", rng, projStd, d, d);
                }
                case 'M' -> mamba(p, rng, d, mx, std);
                default -> throw new IllegalStateException();
            }
        }
        ones("output_norm", d);
        normal("output", rng, std, cfg.vocab(), d);
    }

    /** S4D-Lin initialisation: {@code A = -1/2 + i pi r}, {@code dt} log-uniform in [1e-3, 1e-1], {@code C ~ N(0, 1/2)} per part. */
    private void s4d(String p, Rng rng, int d, int n) {
        Tensor logDt = Tensor.zeros(p + "s4d_log_dt", d), aLog = Tensor.zeros(p + "s4d_a_log", d, n),
                aIm = Tensor.zeros(p + "s4d_a_im", d, n), cRe = Tensor.zeros(p + "s4d_c_re", d, n),
                cIm = Tensor.zeros(p + "s4d_c_im", d, n), dd = Tensor.zeros(p + "s4d_d", d);
        for (int c = 0; c < d; c++) {
            logDt.data[c] = (float) (Math.log(1e-3) + rng.nextDouble() * (Math.log(1e-1) - Math.log(1e-3)));
            dd.data[c] = (float) rng.nextGaussian();
            for (int r = 0; r < n; r++) {
                aLog.data[c * n + r] = (float) Math.log(0.5);
                aIm.data[c * n + r] = (float) (Math.PI * r);
                cRe.data[c * n + r] = (float) (rng.nextGaussian() * Math.sqrt(0.5));
                cIm.data[c * n + r] = (float) (rng.nextGaussian() * Math.sqrt(0.5));
            }
        }
        for (Tensor t : new Tensor[]{logDt, aLog, aIm, cRe, cIm, dd}) register(t.name, t, false);
    }

    /** Mamba-1's initialisation: S4D-real {@code A = -(n+1)}, {@code dt} log-uniform in [1e-3, 1e-1] through the bias, D = 1. */
    private void mamba(String p, Rng rng, int d, MixerConfig mx, float std) {
        int di = mx.ssmInner(), ds = mx.ssmState(), dtr = mx.ssmDtRank(), k = mx.ssmConv();
        normal(p + "ssm_in", rng, std, 2 * di, d);
        fixed(p + "ssm_conv1d", rng, (float) (1 / Math.sqrt(k)), di, k);
        register(p + "ssm_conv1d_b", Tensor.zeros(p + "ssm_conv1d_b", di), false);
        normal(p + "ssm_x", rng, std, dtr + 2 * ds, di);
        normal(p + "ssm_dt", rng, (float) Math.pow(dtr, -0.5), di, dtr);
        Tensor dtb = Tensor.zeros(p + "ssm_dt_b", di), aLog = Tensor.zeros(p + "ssm_a_log", di, ds), dd = Tensor.zeros(p + "ssm_d", di);
        for (int i = 0; i < di; i++) {
            double dt = Math.exp(Math.log(1e-3) + rng.nextDouble() * (Math.log(1e-1) - Math.log(1e-3)));
            dtb.data[i] = (float) (dt + Math.log(-Math.expm1(-dt)));          // inverse softplus
            dd.data[i] = 1f;
            for (int n = 0; n < ds; n++) aLog.data[i * ds + n] = (float) Math.log(n + 1);
        }
        register(dtb.name, dtb, false); register(aLog.name, aLog, false); register(dd.name, dd, false);
        normal(p + "ssm_out", rng, (float) (0.02 / Math.sqrt(cfg.nLayer())), d, di);
    }

    /** A normal-initialised parameter without weight decay (convolution taps). */
    private void fixed(String name, Rng rng, float std, int... shape) {
        Tensor t = Tensor.zeros(name, shape);
        for (int i = 0; i < t.size(); i++) t.data[i] = (float) (rng.nextGaussian() * std);
        register(name, t, false);
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
    public record Step(Graph graph, int batch, int[] ids, int[] targets, Tensor logits, Tensor loss, int[] docStart) {
        /** Whether the graph honours {@link #docStart} (packed sequences with document masking). */
        public boolean packed() { return docStart != null; }
    }

    public Step build(Graph g, int batch) { return build(g, batch, cfg.blockSize()); }

    /** The graph for sequences of {@code t} tokens (any length for RoPE/ALiBi/no positions; up to the block size for learned ones). */
    public Step build(Graph g, int batch, int t) { return build(g, batch, t, false); }

    /**
     * As {@link #build(Graph, int, int)}; with {@code packed}, every row of a sequence may hold several documents: {@code Step.docStart()[r]} (filled like the
     * ids) is the index within its sequence where row {@code r}'s document starts; attention, positions, convolutions and
     * recurrent states do not cross document starts (S4D/H3 layers, whose FFT convolution cannot restart, refuse).
     */
    public Step build(Graph g, int batch, int t, boolean packed) {
        if (t <= 0 || (t > cfg.blockSize() && (cfg.arch() == ModelConfig.Arch.GPT
                || cfg.mixers() != null && cfg.mixers().position() == MixerConfig.Position.LEARNED)))
            throw new IllegalArgumentException("sequence length " + t + " outside [1, " + cfg.blockSize()
                    + "] for learned absolute positions");
        int[] ds = packed ? new int[batch * t] : null;
        if (cfg.arch() == ModelConfig.Arch.HYBRID) return buildHybrid(g, batch, t, ds);
        int c = cfg.nEmbd(), rows = batch * t;
        int[] ids = new int[rows], targets = new int[rows];
        boolean gpt = cfg.arch() == ModelConfig.Arch.GPT;
        Tensor x = g.embedding(get("tok_embd"), ids);
        if (gpt) x = g.add(x, g.embedding(get("pos_embd"), positions(g, t, rows, ds)));
        for (int l = 0; l < cfg.nLayer(); l++) {
            String p = "blk." + l + ".";
            Tensor h = norm(g, x, p + "attn_norm");
            Tensor qkv = g.linear(h, get(p + "attn_qkv"), opt(p + "attn_qkv_b"));
            if (!gpt) qkv = g.rope(qkv, t, cfg.headSize(), 2 * c, cfg.ropeTheta(), 1f, ds);
            Tensor a = g.attention(qkv, batch, t, cfg.nHead(), cfg.nHead(), 0, null, ds);
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
        return new Step(g, batch, ids, targets, logits, loss, ds);
    }

    /** Position ids {@code r % t}, minus the document start when packed (recomputed at every forward). */
    private static int[] positions(Graph g, int t, int rows, int[] docStart) {
        int[] pos = new int[rows];
        for (int r = 0; r < rows; r++) pos[r] = r % t;
        if (docStart != null) g.add(g.new Node() {
            @Override void forward() { for (int r = 0; r < rows; r++) pos[r] = r % t - docStart[r]; }
            @Override void backward() {}
        });
        return pos;
    }

    private Step buildHybrid(Graph g, int batch, int t, int[] ds) {
        MixerConfig mx = cfg.mixers();
        MixerOps ops = new MixerOps(g);
        int d = cfg.nEmbd(), rows = batch * t, nh = cfg.nHead(), nkv = mx.nKvHead(), hs = cfg.headSize();
        int[] ids = new int[rows], targets = new int[rows];
        if (ds != null && (mx.layers().indexOf('S') >= 0 || mx.layers().indexOf('H') >= 0))
            throw new IllegalArgumentException("packed sequences: S4D/H3 layers (pattern '" + mx.layers()
                    + "') cannot restart their FFT convolution at document starts; train them unpacked");
        Tensor x = g.embedding(get("tok_embd"), ids);
        if (mx.position() == MixerConfig.Position.LEARNED) x = g.add(x, g.embedding(get("pos_embd"), positions(g, t, rows, ds)));
        float theta = cfg.ropeTheta(), posScale = 1f;
        if (mx.scaling() == MixerConfig.Scaling.LINEAR) posScale = 1f / mx.factor();
        if (mx.scaling() == MixerConfig.Scaling.NTK) theta = (float) (theta * Math.pow(mx.factor(), hs / (hs - 2.0)));
        String pat = mx.layers();
        for (int i = 0; i < pat.length(); i++) {
            String p = "blk." + i + ".";
            char kind = pat.charAt(i);
            Tensor u = g.rmsNorm(x, get(p + "norm"), cfg.normEps()), y;
            switch (kind) {
                case 'A', 'W' -> {
                    Tensor qkv = g.linear(u, get(p + "attn_qkv"), null);
                    if (mx.position() == MixerConfig.Position.ROPE) qkv = g.rope(qkv, t, hs, (nh + nkv) * hs, theta, posScale, ds);
                    Tensor a = g.attention(qkv, batch, t, nh, nkv, kind == 'W' ? mx.window() : 0,
                            mx.position() == MixerConfig.Position.ALIBI ? Graph.alibiSlopes(nh) : null, ds);
                    y = g.linear(a, get(p + "attn_output"), null);
                }
                case 'F' -> y = g.linear(g.mul(g.silu(g.linear(u, get(p + "ffn_gate"), null)),
                        g.linear(u, get(p + "ffn_up"), null)), get(p + "ffn_down"), null);
                case 'L' -> {
                    Tensor o = ops.linearAttention(g.linear(u, get(p + "attn_qkv"), null), batch, t, nh,
                            filled(nh, 1f), true, 1f, cfg.normEps(), ds);
                    y = g.linear(o, get(p + "attn_output"), null);
                }
                case 'R' -> {
                    Tensor o = ops.linearAttention(g.linear(u, get(p + "attn_qkv"), null), batch, t, nh,
                            MixerOps.retentionDecays(nh), false, (float) (1 / Math.sqrt(hs)), cfg.normEps(), ds);
                    Tensor gate = g.silu(g.linear(u, get(p + "attn_gate"), null));
                    y = g.linear(g.mul(gate, o), get(p + "attn_output"), null);
                }
                case 'S' -> {
                    Tensor s = ops.longConv(u, s4dKernel(ops, p, t), get(p + "s4d_d"), batch, t);
                    y = g.linear(g.geluErf(s), get(p + "s4d_out"), null);
                }
                case 'H' -> {
                    Tensor qkv = g.linear(u, get(p + "attn_qkv"), null);
                    Tensor q = ops.sliceCols(qkv, 0, d), k = ops.sliceCols(qkv, d, d), v = ops.sliceCols(qkv, 2 * d, d);
                    Tensor kv = g.mul(ops.causalConv(k, get(p + "h3_shift"), null, batch, t), v);
                    Tensor s = ops.longConv(kv, s4dKernel(ops, p, t), get(p + "s4d_d"), batch, t);
                    y = g.linear(g.mul(q, s), get(p + "attn_output"), null);
                }
                case 'M' -> {
                    int di = mx.ssmInner(), dtr = mx.ssmDtRank();
                    Tensor xz = g.linear(u, get(p + "ssm_in"), null);
                    Tensor xc = g.silu(ops.causalConv(ops.sliceCols(xz, 0, di), get(p + "ssm_conv1d"),
                            get(p + "ssm_conv1d_b"), batch, t, ds));
                    Tensor dbc = g.linear(xc, get(p + "ssm_x"), null);
                    Tensor dt = ops.softplus(g.linear(ops.sliceCols(dbc, 0, dtr), get(p + "ssm_dt"), get(p + "ssm_dt_b")));
                    Tensor s = ops.selectiveScan(xc, dt, get(p + "ssm_a_log"), dbc, dtr, get(p + "ssm_d"), batch, t, ds);
                    y = g.linear(g.mul(s, g.silu(ops.sliceCols(xz, di, di))), get(p + "ssm_out"), null);
                }
                default -> throw new IllegalStateException("layer letter " + kind);
            }
            x = g.add(x, y);
        }
        x = g.rmsNorm(x, get("output_norm"), cfg.normEps());
        Tensor logits = g.linear(x, get("output"), null);
        Tensor loss = g.crossEntropy(logits, targets);
        return new Step(g, batch, ids, targets, logits, loss, ds);
    }

    private Tensor s4dKernel(MixerOps ops, String p, int t) {
        return ops.s4dKernel(get(p + "s4d_log_dt"), get(p + "s4d_a_log"), get(p + "s4d_a_im"), get(p + "s4d_c_re"),
                get(p + "s4d_c_im"), t);
    }

    private static float[] filled(int n, float v) { float[] a = new float[n]; java.util.Arrays.fill(a, v); return a; }

    private Tensor norm(Graph g, Tensor x, String name) {
        return cfg.arch() == ModelConfig.Arch.GPT
                ? g.layerNorm(x, get(name), opt(name + "_b"), cfg.normEps())
                : g.rmsNorm(x, get(name), cfg.normEps());
    }
}
