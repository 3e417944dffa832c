package io.jlm.models.state;

/**
 * A {@link KvCache} whose retained positions are not one contiguous range, or that changes the distances keys are
 * seen at, or that learns from the attention weights: it computes the attention of each query itself.
 *
 * <p>The forward pass still writes every new key/value with {@link #write} (keys rotated with their absolute
 * position), then, instead of calling {@link #scores}/{@link #accumulate} over a position range, calls
 * {@link #attend} once per (query head, query row). Around each chunk of new positions it calls
 * {@link #beginChunk} and {@link #endChunk}; eviction, channel selection and other bookkeeping happen in
 * {@code endChunk}, so within one chunk every position written is visible to the later queries of that chunk.
 *
 * <p>Concurrency: {@code attend} calls for different query heads may run concurrently; all rows of one query head
 * within one layer run on one thread, in increasing position order (so per-head statistics need no locking).
 */
public interface AttendingKvCache extends KvCache {

    /** Called once by the forward pass before the first chunk; may allocate per-thread scratch. */
    void configure(AttentionGeometry geometry);

    /** Positions {@code [from, from + count)} are about to be written and attended. */
    default void beginChunk(int from, int count) {}

    /** The chunk announced by {@link #beginChunk} has passed through all layers. */
    default void endChunk() {}

    /**
     * Writes to {@code out[outOff .. outOff + headDim)} the attention output of query head {@code head} at absolute
     * position {@code position}: {@code q[qOff .. qOff + headDim)} is the query (already rotated for
     * {@code position}), keys at positions after {@code position} are not visible.
     *
     * @param thread index of the calling forward-pass thread (for scratch), {@code < geometry.threads()}
     */
    void attend(int layer, int head, float[] q, int qOff, int position, float[] out, int outOff, int thread);

    /** Plain range reads are not meaningful for caches that attend themselves. */
    @Override
    default void scores(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff) {
        throw new UnsupportedOperationException(describe() + " cache computes attention itself (use attend)");
    }

    @Override
    default void accumulate(int layer, int kvHead, float[] weights, int wOff, int from, int to, float[] out, int outOff) {
        throw new UnsupportedOperationException(describe() + " cache computes attention itself (use attend)");
    }
}
