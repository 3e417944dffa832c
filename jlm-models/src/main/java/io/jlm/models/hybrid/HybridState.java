package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.ModelState;
import io.jlm.models.ops.Ops;

/**
 * Per-sequence state of a {@link HybridModel}: one {@link LayerState} per sublayer ({@code null} for {@code F},
 * which has none) plus scratch buffers shared by all sublayers. Runs the forward pass token by token with the
 * recurrent form of every mixer, so any number of tokens can be fed and a later call continues where the previous
 * one stopped.
 *
 * <p>Rewinding: a state whose only stateful sublayers are full attention ({@code A}) rewinds to any earlier
 * position (the keys and values past it are overwritten later); any other state summarizes its tokens and rewinds
 * only to 0 (reset) or to its current position (no-op). Not thread-safe: one forward call at a time per state.
 */
public final class HybridState implements ModelState {
    private final HybridModel model;
    private final HybridConfig c;
    private final HybridWeights w;
    private final ThreadPool pool;
    private final int capacity;
    private final LayerState[] layers;
    private final boolean rewindable;
    private final double[] ropeInv;
    private final Scratch s;
    private final float[] x, xn, out, logits;
    private int position;

    HybridState(HybridModel model, int capacity) {
        this.model = model;
        this.c = model.hybridConfig();
        this.w = model.weights();
        this.pool = model.pool();
        this.capacity = capacity;
        int attPositions = 0;
        for (int i = 0; i < c.layers(); i++) {
            char l = c.letter(i);
            if (l == 'A' || l == 'W') attPositions = Math.max(attPositions, KvLayerState.slots(c, l, capacity));
        }
        s = new Scratch(c, attPositions);
        layers = new LayerState[c.layers()];
        boolean onlyFull = true;
        for (int i = 0; i < layers.length; i++) {
            HybridWeights.Mixer m = w.layers().get(i).mixer();
            char letter = c.letter(i);
            layers[i] = switch (m) {
                case HybridWeights.Attention a -> new KvLayerState(c, a, letter, capacity, s, pool);
                case HybridWeights.Ffn f -> null;
                case HybridWeights.Linear l -> new LinearLayerState(c, l, s, pool);
                case HybridWeights.Retention r -> new LinearLayerState(c, r, s, pool);
                case HybridWeights.S4d s4 -> new S4dLayerState(c, s4, s, pool);
                case HybridWeights.H3 h3 -> new H3LayerState(c, h3, s, pool);
                case HybridWeights.Mamba mb -> new MambaLayerState(c, mb, s, pool);
            };
            if (layers[i] != null && layers[i].letter() != 'A') onlyFull = false;
        }
        rewindable = onlyFull;
        ropeInv = c.position() == HybridConfig.Position.ROPE && c.uses("AW") ? c.ropeInverseFrequencies() : null;
        x = new float[c.dim()];
        xn = new float[c.dim()];
        out = new float[c.dim()];
        logits = new float[c.vocabSize()];
    }

    HybridModel model() { return model; }

    @Override public int position() { return position; }

    @Override public int capacity() { return capacity; }

    /** The state of sublayer {@code i}, or null for an {@code F} sublayer (which has none). */
    public LayerState layer(int i) { return layers[i]; }

    @Override
    public void rewind(int pos) {
        if (pos < 0 || pos > position) {
            throw new IllegalArgumentException("rewind position " + pos + " is outside [0, " + position + "]");
        }
        if (pos == position) return;
        if (pos == 0) {
            for (LayerState l : layers) if (l != null) l.reset();
        } else if (!rewindable) {
            throw new UnsupportedOperationException("a jlm state with pattern \"" + c.pattern()
                    + "\" cannot be rewound to position " + pos + ": its recurrent or sliding-window sublayers summarize all "
                    + position + " tokens; only rewind(0) (reset) or rewind(" + position + ") (no-op) are supported");
        }
        position = pos;
    }

    @Override
    public long bytes() {
        long b = s.bytes() + (long) (x.length + xn.length + out.length + logits.length) * Float.BYTES;
        for (LayerState l : layers) if (l != null) b += l.bytes();
        return b;
    }

    private void validate(int[] tokens) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("no tokens to run");
        if ((long) position + n > capacity) {
            String why = c.position() == HybridConfig.Position.LEARNED && capacity == c.contextLength()
                    ? " (learned position embeddings cover only jlm.context_length = " + c.contextLength() + " positions)"
                    : "";
            throw new IllegalStateException("context full: " + position + " + " + n + " tokens exceed the capacity "
                    + capacity + " of this state" + why);
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside [0, " + c.vocabSize() + ")");
            }
        }
    }

    float[] forward(int[] tokens, boolean allLogits) {
        validate(tokens);
        int n = tokens.length, vocab = c.vocabSize();
        float[] result = allLogits ? new float[n * vocab] : logits;
        for (int t = 0; t < n; t++) {
            step(tokens[t]);
            if (allLogits || t == n - 1) {
                Ops.rmsnorm(xn, 0, x, 0, w.outputNorm(), c.dim(), c.eps());
                w.output().matvec(xn, 0, result, allLogits ? t * vocab : 0, pool);
            }
        }
        return result;
    }

    float[] embed(int[] tokens, boolean mean) {
        validate(tokens);
        int n = tokens.length, d = c.dim();
        float[] acc = new float[d];
        for (int t = 0; t < n; t++) {
            step(tokens[t]);
            if (mean || t == n - 1) {
                Ops.rmsnorm(xn, 0, x, 0, w.outputNorm(), d, c.eps());
                for (int i = 0; i < d; i++) acc[i] += xn[i];
            }
        }
        if (mean) Ops.scale(acc, 0, d, 1f / n);
        return acc;
    }

    /** Runs one token at the current position through every sublayer (residual stream left in x). */
    private void step(int token) {
        int d = c.dim(), pos = position;
        w.tokenEmbedding().row(token, x, 0);
        if (w.positionEmbedding() != null) {
            w.positionEmbedding().row(pos, xn, 0);
            Ops.addInPlace(x, xn, d);
        }
        if (ropeInv != null) {
            double p = c.ropePosition(pos);
            for (int j = 0; j < ropeInv.length; j++) {
                double angle = p * ropeInv[j];
                s.ropeCos[j] = (float) Math.cos(angle);
                s.ropeSin[j] = (float) Math.sin(angle);
            }
        }
        for (int i = 0; i < layers.length; i++) {
            HybridWeights.Sublayer sub = w.layers().get(i);
            Ops.rmsnorm(xn, 0, x, 0, sub.norm(), d, c.eps());
            switch (layers[i]) {
                case null -> ffn((HybridWeights.Ffn) sub.mixer());
                case KvLayerState kv -> kv.step(xn, pos, out);
                case LinearLayerState lin -> lin.step(xn, out);
                case S4dLayerState s4 -> s4.step(xn, out);
                case H3LayerState h3 -> h3.step(xn, out);
                case MambaLayerState mb -> mb.step(xn, out);
            }
            Ops.addInPlace(x, out, d);
        }
        position = pos + 1;
    }

    /** F: {@code out = Wdown (silu(Wgate u) * (Wup u))}. */
    private void ffn(HybridWeights.Ffn f) {
        f.gate().matvec(xn, s.gate, pool);
        f.up().matvec(xn, s.up, pool);
        Ops.siluMul(s.gate, 0, s.gate, 0, s.up, 0, c.ffnDim());
        f.down().matvec(s.gate, out, pool);
    }
}
