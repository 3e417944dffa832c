package io.jlm.models.transformer;

import io.jlm.core.tensor.GGMLType;
import io.jlm.models.ModelState;
import io.jlm.models.state.ContiguousKvCache;
import io.jlm.models.state.KvCache;

/**
 * Per-sequence state of a {@link TransformerModel}: the KV cache, the position and the scratch of the forward pass.
 * The cache may be supplied by the caller ({@link TransformerModel#newState(KvCache)}, e.g. a
 * {@link io.jlm.models.state.PagedKvCache}); the caller then owns it and closes it when the sequence ends.
 */
public final class TransformerState implements ModelState {
    private final TransformerModel model;
    private final KvCache cache;
    private final ForwardPass pass;
    private final double[] ropeFrequencies;
    int position;

    TransformerState(TransformerModel model, int capacity, GGMLType cacheType) {
        this(model, new ContiguousKvCache(cacheType, model.transformerConfig().layers(), capacity,
                model.transformerConfig().kvHeads(), model.transformerConfig().headDim()));
    }

    /** A state on an existing cache (dimensions already validated); it starts at position {@code cache.length()}. */
    TransformerState(TransformerModel model, KvCache cache) {
        this.model = model;
        this.cache = cache;
        this.position = cache.length();
        this.ropeFrequencies = ForwardPass.ropeFrequencies(model.transformerConfig(), model.weights(), cache.capacity());
        if (cache instanceof io.jlm.models.state.AttendingKvCache a) a.configure(ForwardPass.geometry(model, ropeFrequencies));
        this.pass = new ForwardPass(model, ForwardPass.scoreNeed(cache));
    }

    TransformerModel model() { return model; }

    ForwardPass pass() { return pass; }

    /** RoPE angle per position unit for each rotated pair (depends on the capacity for Phi-3 longrope). */
    double[] ropeFrequencies() { return ropeFrequencies; }

    public KvCache cache() { return cache; }

    @Override public int position() { return position; }

    @Override public int capacity() { return cache.capacity(); }

    @Override
    public void rewind(int position) {
        if (position < 0 || position > this.position) {
            throw new IllegalArgumentException("cannot rewind to position " + position + "; expected 0.." + this.position);
        }
        cache.truncate(position);
        this.position = position;
    }

    @Override
    public long bytes() {
        return cache.bytes() + pass.bytes();
    }
}
