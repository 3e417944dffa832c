package io.jlm.models.state;

import io.jlm.core.tensor.GGMLType;

/**
 * Storage for the attention keys and values of one sequence, one slot per absolute position and layer.
 *
 * <p>The attention kernel never sees the storage layout: it writes the rotated key and the value of each new
 * position with {@link #write}, and reads through two operations on one (layer, KV head) pair and a range of
 * positions, {@link #scores} (query-key dot products) and {@link #accumulate} (softmax-weighted sum of values).
 * This keeps the cache free to change its representation without touching the model code:
 * <ul>
 *   <li><b>Paging:</b> an implementation may keep positions in fixed-size blocks allocated on demand (or shared
 *       between sequences with a common prefix); {@code scores}/{@code accumulate} then iterate over the blocks
 *       covering {@code [from, to)}.</li>
 *   <li><b>Quantization:</b> an implementation may store keys/values in 8- or 4-bit blocks and dequantize inside
 *       {@code scores}/{@code accumulate} (a fused dequantize-dot), since callers only pass and receive float32
 *       activations.</li>
 *   <li><b>Eviction:</b> a cache may drop old positions; {@link #firstRetained} reports the earliest position
 *       still held for a layer and callers never read below it. Positions stay absolute (RoPE was applied with the
 *       absolute position before {@code write}). Caches whose retained positions are not one range (attention
 *       sinks + window, score-based eviction), that show keys at other distances, or that learn from the attention
 *       weights implement {@link AttendingKvCache} and compute each query's attention themselves.</li>
 *   <li><b>Recurrent state:</b> models with a fixed-size state (SSMs) do not use a KV cache; their
 *       {@link io.jlm.models.ModelState} holds the recurrent tensors instead. A hybrid model holds both, one
 *       {@code KvCache} for its attention layers (layers without attention simply have no entries).</li>
 * </ul>
 *
 * <p>Per layer, keys and values have {@link #kvHeads(int)} heads of {@link #headDim(int)} floats; the
 * {@code k}/{@code v} arrays passed to {@code write} hold all heads of one position back to back
 * ({@code head * headDim + i}). Writes to different positions and reads of different (layer, head) pairs may
 * run concurrently from several threads; a write and a read of the same position must not overlap.
 *
 * <p>{@link #elementType()} tells the attention kernel the precision of the stored elements. With
 * {@link GGMLType#F16} (llama.cpp's default cache type) the kernel rounds its operands of the two products (the
 * query and the softmax weights) to F16 as well, as ggml does when it multiplies with an F16 cache, so that
 * results match llama.cpp closely.
 */
public interface KvCache {

    /**
     * Precision of the stored keys/values: {@link GGMLType#F32} or {@link GGMLType#F16} (the forward pass then
     * rounds the query and softmax weights to match), or a block type ({@link GGMLType#Q8_0}, {@link GGMLType#Q4_0})
     * for caches that dequantize inside {@link #scores}/{@link #accumulate}.
     */
    GGMLType elementType();

    /** Number of layers. */
    int layers();

    /** Number of positions the cache can hold (the maximum context). */
    int capacity();

    /** Number of key/value heads of {@code layer}. */
    int kvHeads(int layer);

    /** Floats per key (and per value) head of {@code layer}. */
    int headDim(int layer);

    /**
     * Stores the key and value of {@code position} in {@code layer}: {@code kvHeads(layer) * headDim(layer)} floats
     * each, read from {@code k[kOff..]} and {@code v[vOff..]}.
     */
    void write(int layer, int position, float[] k, int kOff, float[] v, int vOff);

    /**
     * For every position p in [from, to) writes the dot product of the query head {@code q[qOff .. qOff+headDim)}
     * with the key of (layer, kvHead, p) to {@code out[outOff + p - from]}. Unscaled.
     */
    void scores(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff);

    /**
     * Adds {@code sum over p in [from, to) of weights[wOff + p - from] * value(layer, kvHead, p)} to
     * {@code out[outOff .. outOff+headDim)}.
     */
    void accumulate(int layer, int kvHead, float[] weights, int wOff, int from, int to, float[] out, int outOff);

    /**
     * Number of positions written (one past the highest position written since creation or the last
     * {@link #truncate}); a {@link io.jlm.models.ModelState} built on an existing cache starts at this position.
     * Caches that do not track it return 0.
     */
    default int length() { return 0; }

    /**
     * Makes sure positions {@code [0, positions)} can be written (a paged cache allocates its blocks up front).
     * Returns false, changing nothing, if they cannot: beyond the capacity or out of memory. The forward pass calls
     * it before it changes any state, so that running out of blocks fails cleanly.
     */
    default boolean reserve(int positions) { return positions <= capacity(); }

    /** The earliest position still stored for {@code layer} (0 unless the cache evicts). */
    default int firstRetained(int layer) { return 0; }

    /**
     * Forgets positions >= {@code length} (used by {@link io.jlm.models.ModelState#rewind}). A cache that has
     * evicted positions it would need again throws {@link UnsupportedOperationException}.
     */
    void truncate(int length);

    /** Bytes of memory held. */
    long bytes();

    /**
     * The most positions one forward chunk may append (the forward pass splits longer inputs). Caches with bounded
     * storage (a sliding window, an eviction budget) need room for one chunk beyond what they keep between chunks.
     */
    default int maxChunk() { return Integer.MAX_VALUE; }

    /**
     * The most keys one query can attend to; the forward pass sizes its score scratch with it. Defaults to the
     * capacity; a cache that keeps a bounded set of positions returns that bound.
     */
    default int maxAttended() { return capacity(); }

    /** A short description of the cache and its policy for statistics, e.g. {@code "q8_0"} or {@code "sink:4,window:256"}. */
    default String describe() { return elementType().name().toLowerCase(java.util.Locale.ROOT); }
}
