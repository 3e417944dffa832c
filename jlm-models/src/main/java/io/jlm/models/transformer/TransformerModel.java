package io.jlm.models.transformer;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.BatchEntry;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelState;
import io.jlm.models.OwnedResource;
import io.jlm.models.state.KvCache;
import io.jlm.models.state.KvPolicy;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A decoder-only transformer (llama, qwen2, qwen3, phi3, gemma2, ...): one block implementation parameterised by
 * an {@link ArchSpec}. Holds only weights; all per-sequence data (KV cache, scratch buffers) is in the
 * {@link TransformerState}, so several states can be used with one model (one forward call per state at a time).
 * {@link #forwardBatch} runs several states in one step with a workspace of the model.
 */
public final class TransformerModel implements LanguageModel {
    private final TransformerConfig config;
    private final TransformerWeights weights;
    private final ThreadPool pool;
    private final ModelConfig modelConfig;
    private final OwnedResource resource = new OwnedResource();
    private final AtomicBoolean batchBusy = new AtomicBoolean();
    private volatile boolean batchInvariant;
    private ForwardPass batchPass;

    public TransformerModel(TransformerConfig config, TransformerWeights weights, ThreadPool pool) {
        this.config = config;
        this.weights = weights;
        this.pool = pool;
        this.modelConfig = config.toModelConfig();
    }

    /** Makes {@link #close()} also close {@code r} (e.g. the mapped GGUF file holding the weights). */
    public TransformerModel closing(AutoCloseable r) {
        resource.set(r);
        return this;
    }

    public TransformerConfig transformerConfig() { return config; }

    public TransformerWeights weights() { return weights; }

    ThreadPool pool() { return pool; }

    @Override
    public ModelConfig config() { return modelConfig; }

    /** A state with an F16-precision KV cache (llama.cpp's default). */
    @Override
    public TransformerState newState(int maxContext) {
        return newState(maxContext, GGMLType.F16);
    }

    /** A state whose KV cache holds elements of {@code cacheType} (F32 or F16) precision. */
    public TransformerState newState(int maxContext, GGMLType cacheType) {
        if (maxContext < 1) throw new IllegalArgumentException("maxContext must be >= 1, got " + maxContext);
        return new TransformerState(this, maxContext, cacheType);
    }

    /**
     * A state on {@code cache} (for example a {@link io.jlm.models.state.PagedKvCache} of a shared block pool, after
     * {@link io.jlm.models.state.PagedKvCache#attachPrefix}); it starts at position {@code cache.length()}, so a
     * reused prefix is not recomputed. The caller keeps ownership of the cache (closes it when done).
     */
    public TransformerState newState(KvCache cache) {
        if (cache == null) throw new IllegalArgumentException("cache must not be null");
        GGMLType et = cache.elementType();
        if (et != GGMLType.F32 && et != GGMLType.F16 && et != GGMLType.Q8_0 && et != GGMLType.Q4_0) {
            throw new IllegalArgumentException("KV cache element type " + et
                    + " is not supported; expected F32, F16, Q8_0 or Q4_0");
        }
        if (cache.layers() != config.layers()) {
            throw new IllegalArgumentException("KV cache has " + cache.layers() + " layers but model " + config.name()
                    + " has " + config.layers());
        }
        for (int l = 0; l < config.layers(); l++) {
            if (cache.kvHeads(l) != config.kvHeads() || cache.headDim(l) != config.headDim()) {
                throw new IllegalArgumentException("KV cache layer " + l + " has " + cache.kvHeads(l) + " KV heads of "
                        + cache.headDim(l) + " floats but model " + config.name() + " expects " + config.kvHeads()
                        + " of " + config.headDim());
            }
        }
        if (cache.length() > cache.capacity()) {
            throw new IllegalArgumentException("KV cache length " + cache.length() + " exceeds its capacity "
                    + cache.capacity());
        }
        return new TransformerState(this, cache);
    }

    /** A state whose KV cache follows {@code policy} (quantized, sink+window, eviction, ThinK; see {@link KvPolicy}). */
    @Override
    public TransformerState newState(int maxContext, KvPolicy policy) {
        if (maxContext < 1) throw new IllegalArgumentException("maxContext must be >= 1, got " + maxContext);
        return newState(policy.create(config.layers(), maxContext, config.kvHeads(), config.headDim()));
    }

    /**
     * {@inheritDoc}
     * <p>With {@code allLogits == false} the returned array is a buffer owned by the state and is overwritten by the
     * next forward call on that state (decoding allocates nothing); with {@code allLogits} a new array is returned.
     */
    @Override
    public float[] forward(ModelState state, int[] tokens, boolean allLogits) {
        if (!(state instanceof TransformerState s) || s.model() != this) {
            throw new IllegalArgumentException("state was not created by this model (" + config.name() + ")");
        }
        return s.pass().run(s, tokens, allLogits);
    }

    @Override
    public float[] embed(ModelState state, int[] tokens, boolean mean) {
        if (!(state instanceof TransformerState s) || s.model() != this) {
            throw new IllegalArgumentException("state was not created by this model (" + config.name() + ")");
        }
        return s.pass().embed(s, tokens, mean);
    }

    /**
     * {@inheritDoc}
     * <p>The transformer runs all rows of all entries through each matrix product together (the weights are read
     * once per step, which is what makes concurrent decoding cheap), with attention per row against that row's own
     * sequence cache and position and RoPE at the row's position: a packed prefill of several prompts equals their
     * separate prefills. Entries may mix caches ({@link io.jlm.models.state.PagedKvCache},
     * {@link io.jlm.models.state.ContiguousKvCache}). Steps of more than 512 rows are
     * split into chunks. KV memory for all entries is reserved before any state changes (if a later entry cannot
     * get its blocks, earlier entries keep the blocks they reserved, empty, for their next step).
     * <p>Numerics: a row's result does not depend on the other rows of the batch, except that a product over one
     * row uses the matrix-vector kernel and one over several rows the matrix-matrix kernel, whose float sums are
     * ordered differently (ulp-level differences). With {@link #batchInvariant(boolean)} on, every product uses the
     * matrix-matrix kernel, so results are bit-identical however requests are batched.
     * <p>Thread safety: uses one workspace of the model, so calls on one model must not overlap (an overlapping
     * call throws {@link IllegalStateException}); {@link #forward} on states that are not in the batch may run
     * concurrently (each state has its own workspace; the thread pool serializes the parallel loops).
     */
    @Override
    public List<float[]> forwardBatch(List<BatchEntry> entries) {
        if (entries == null) throw new IllegalArgumentException("forwardBatch needs a list of entries");
        for (int i = 0; i < entries.size(); i++) {
            BatchEntry e = entries.get(i);
            if (e != null && (!(e.state() instanceof TransformerState s) || s.model() != this)) {
                throw new IllegalArgumentException("batch entry " + i + ": state was not created by this model ("
                        + config.name() + ")");
            }
        }
        validateBatch(entries);
        if (entries.isEmpty()) return List.of();
        if (!batchBusy.compareAndSet(false, true)) {
            throw new IllegalStateException("forwardBatch calls on one model must not overlap");
        }
        try {
            ForwardPass ws = batchPass;
            if (ws == null) batchPass = ws = new ForwardPass(this, 1);
            return ws.runBatch(entries);
        } finally {
            batchBusy.set(false);
        }
    }

    /**
     * Makes every matrix product of {@link #forward} and {@link #forwardBatch} use the matrix-matrix kernel, even for
     * a single row, so that a sequence's logits are bit-identical whether it runs alone or batched with others
     * (e.g. a server that promises identical greedy output with and without batching). Off by default: the
     * matrix-vector kernel is faster for a lone decode row.
     */
    public TransformerModel batchInvariant(boolean on) {
        this.batchInvariant = on;
        return this;
    }

    /** Whether {@link #batchInvariant(boolean)} is on. */
    public boolean batchInvariant() { return batchInvariant; }

    @Override
    public void close() {
        resource.close();
    }

    @Override
    public String toString() {
        return "TransformerModel[" + config + "]";
    }
}
