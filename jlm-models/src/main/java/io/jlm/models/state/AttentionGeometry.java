package io.jlm.models.state;

/**
 * What an {@link AttendingKvCache} needs to know about the model's attention: head counts, the query scale, the
 * optional logit soft-cap, per-layer sliding windows, the number of threads of the forward pass (each has its own
 * scratch) and the rotary embedding ({@link Rope}), used by caches that move keys to other relative distances.
 *
 * @param heads       query heads
 * @param kvHeads     key/value heads (query head h uses KV head {@code h / (heads / kvHeads)})
 * @param headDim     floats per head
 * @param queryScale  factor of the query-key dot product (usually 1/sqrt(headDim))
 * @param softcap     attention logit soft-cap ({@code cap * tanh(s / cap)}), 0 for none
 * @param windows     per layer: the model's own sliding window in positions, 0 for full attention
 * @param threads     threads that may call {@link AttendingKvCache#attend} concurrently (thread ids 0..threads-1)
 * @param rope        the rotary embedding applied to queries and keys before they reach the cache
 */
public record AttentionGeometry(int heads, int kvHeads, int headDim, float queryScale, float softcap, int[] windows,
                                int threads, Rope rope) {

    public AttentionGeometry {
        if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || headDim < 1 || threads < 1) {
            throw new IllegalArgumentException("bad attention geometry: heads=" + heads + " kvHeads=" + kvHeads
                    + " headDim=" + headDim + " threads=" + threads);
        }
    }

    /** Query heads per KV head. */
    public int group() { return heads / kvHeads; }

    /**
     * Rotary position embedding: pairs {@code i < ropeDim/2} rotate by {@code position * invFreq[i]}; in NORMAL mode a
     * pair is elements (2i, 2i+1), in NEOX mode (i, i + ropeDim/2).
     */
    public record Rope(int ropeDim, double[] invFreq, boolean neox) {

        /**
         * Rotates the first {@code ropeDim} elements of {@code src[sOff ..)} by {@code delta} positions (a pure
         * rotation: the model's magnitude factor, applied once when the query was rotated, is not applied again)
         * into {@code dst[dOff ..)}; the remaining elements up to {@code headDim} are copied.
         */
        public void rotate(float[] src, int sOff, float[] dst, int dOff, int headDim, long delta) {
            int half = ropeDim / 2;
            for (int i = 0; i < half; i++) {
                double a = delta * invFreq[i];
                float c = (float) Math.cos(a), s = (float) Math.sin(a);
                int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
                float x0 = src[sOff + i0], x1 = src[sOff + i1];
                dst[dOff + i0] = x0 * c - x1 * s;
                dst[dOff + i1] = x0 * s + x1 * c;
            }
            for (int i = 2 * half; i < headDim; i++) dst[dOff + i] = src[sOff + i];
        }
    }
}
