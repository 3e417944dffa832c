package io.jlm.models.state;

import io.jlm.core.quant.VectorMath;
import io.jlm.core.tensor.GGMLType;

import java.util.Arrays;

/**
 * Attention sinks plus a sliding window (StreamingLLM, LM-Infinite): keeps the first {@code sinks} positions and the
 * most recent {@code window} positions (the query's own included); memory is constant however long the sequence.
 * With {@code sinks == 0} this is a plain sliding window.
 *
 * <p><b>Positions.</b> Keys arrive rotated with their absolute position. A query at position {@code pos} sees a
 * window key at position {@code p} at its true distance {@code pos - p < window}, which never exceeds what the model
 * was trained on. Only the sinks would be seen at unbounded distances; they are instead scored with a copy of the
 * query rotated back so that sink {@code i} appears at a bounded <em>virtual distance</em>:
 * <ul>
 *   <li>{@link Mode#STREAMING} (StreamingLLM: positions assigned by place in the cache): once the cache is full the
 *       query sits at cache slot {@code sinks + window - 1} and sink {@code i} at slot {@code i}, so the virtual
 *       distance is {@code min(pos - i, sinks + window - 1 - i)}. Window keys sit at slots
 *       {@code sinks + window - 1 - (pos - p)}, exactly their true distance from the query, so re-rotating the query
 *       for the (few) sinks is all that assigning positions within the cache requires: keys are never re-rotated.</li>
 *   <li>{@link Mode#LM_INFINITE} (Λ-shaped mask with a distance cap): every query sees the sinks and its local window;
 *       distances are capped, {@code min(pos - i, distanceCap)}.</li>
 * </ul>
 *
 * <p>Storage per layer and KV head: {@code sinks} slots, then a ring of {@code window + maxChunk} slots (room for
 * one forward chunk beyond the window, so that every query of a chunk still finds its whole window).
 */
public final class SinkWindowKvCache implements AttendingKvCache {

    /** How sinks are positioned relative to the query. */
    public enum Mode { STREAMING, LM_INFINITE }

    private final int layers, capacity, kvHeads, headDim, sinks, window, chunk, ring, slots, distanceCap;
    private final Mode mode;
    private final float[][] keys, values;
    private AttentionGeometry g;
    private float[][] scratch, rotated;
    private int length;

    /**
     * @param capacity    most positions a sequence may reach (no memory depends on it)
     * @param sinks       initial positions kept forever (0 for a plain window)
     * @param window      recent positions kept, the query's own included (>= 1)
     * @param mode        how the sinks are positioned
     * @param distanceCap for {@link Mode#LM_INFINITE}: the largest distance a sink is seen at (e.g. the trained
     *                    context); ignored for STREAMING
     * @param maxChunk    most positions one forward chunk may append
     */
    public SinkWindowKvCache(int layers, int capacity, int kvHeads, int headDim, int sinks, int window, Mode mode,
                             int distanceCap, int maxChunk) {
        if (layers < 1 || capacity < 1 || kvHeads < 1 || headDim < 1 || sinks < 0 || window < 1 || maxChunk < 1) {
            throw new IllegalArgumentException("bad sink/window cache: layers=" + layers + " capacity=" + capacity
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " sinks=" + sinks + " window=" + window
                    + " maxChunk=" + maxChunk);
        }
        if (mode == Mode.LM_INFINITE && distanceCap < window) {
            throw new IllegalArgumentException("LM-Infinite distance cap " + distanceCap + " must be at least the window "
                    + window + " (window keys are seen at their true distance)");
        }
        this.layers = layers;
        this.capacity = capacity;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.sinks = sinks;
        this.window = window;
        this.chunk = maxChunk;
        this.ring = window + maxChunk;
        this.slots = sinks + ring;
        this.mode = mode;
        this.distanceCap = distanceCap;
        this.keys = new float[layers][kvHeads * slots * headDim];
        this.values = new float[layers][kvHeads * slots * headDim];
    }

    @Override
    public void configure(AttentionGeometry geometry) {
        if (geometry.kvHeads() != kvHeads || geometry.headDim() != headDim) {
            throw new IllegalArgumentException("attention geometry " + geometry.kvHeads() + "x" + geometry.headDim()
                    + " does not match the cache " + kvHeads + "x" + headDim);
        }
        this.g = geometry;
        this.scratch = new float[geometry.threads()][sinks + window];
        this.rotated = new float[geometry.threads()][headDim];
    }

    private int slot(int position) {
        return position < sinks ? position : sinks + (position - sinks) % ring;
    }

    @Override public GGMLType elementType() { return GGMLType.F32; }
    @Override public int layers() { return layers; }
    @Override public int capacity() { return capacity; }
    @Override public int kvHeads(int layer) { return kvHeads; }
    @Override public int headDim(int layer) { return headDim; }
    @Override public int length() { return length; }
    @Override public int maxChunk() { return chunk; }
    @Override public int maxAttended() { return sinks + window; }

    /** Sinks kept. */
    public int sinks() { return sinks; }

    /** Recent positions kept. */
    public int window() { return window; }

    @Override
    public void write(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the KV cache capacity " + capacity);
        }
        int s = slot(position);
        float[] kl = keys[layer], vl = values[layer];
        for (int h = 0; h < kvHeads; h++) {
            System.arraycopy(k, kOff + h * headDim, kl, (h * slots + s) * headDim, headDim);
            System.arraycopy(v, vOff + h * headDim, vl, (h * slots + s) * headDim, headDim);
        }
        if (position >= length) length = position + 1;
    }

    /** The distance at which a query at {@code pos} sees sink {@code i} (its true distance when small enough). */
    public int sinkDistance(int pos, int i) {
        int d = pos - i;
        return mode == Mode.STREAMING ? Math.min(d, sinks + window - 1 - i) : Math.min(d, distanceCap);
    }

    @Override
    public void attend(int layer, int head, float[] q, int qOff, int pos, float[] out, int outOff, int thread) {
        float[] sc = scratch[thread], qr = rotated[thread];
        int kvh = head / g.group(), hd = headDim;
        float[] kl = keys[layer], vl = values[layer];
        int base = kvh * slots * hd;
        int nSink = Math.min(sinks, pos + 1);
        int ws = Math.max(sinks, pos - window + 1);
        int modelWindow = g.windows() == null ? 0 : g.windows()[layer];
        if (modelWindow > 0) ws = Math.max(ws, pos - modelWindow + 1);
        int n = 0;
        for (int i = 0; i < nSink; i++, n++) {
            int d = pos - i;
            if (modelWindow > 0 && d >= modelWindow) { sc[n] = Float.NEGATIVE_INFINITY; continue; }
            int dv = sinkDistance(pos, i);
            if (dv == d) {
                sc[n] = VectorMath.dot(q, qOff, kl, base + i * hd, hd);
            } else {
                g.rope().rotate(q, qOff, qr, 0, hd, (long) dv - d);
                sc[n] = VectorMath.dot(qr, 0, kl, base + i * hd, hd);
            }
        }
        for (int p = ws; p <= pos; p++, n++) sc[n] = VectorMath.dot(q, qOff, kl, base + slot(p) * hd, hd);
        AttentionKernels.softmax(sc, n, g.queryScale(), g.softcap());
        Arrays.fill(out, outOff, outOff + hd, 0f);
        n = 0;
        for (int i = 0; i < nSink; i++, n++) AttentionKernels.axpy(out, outOff, sc[n], vl, base + i * hd, hd);
        for (int p = ws; p <= pos; p++, n++) AttentionKernels.axpy(out, outOff, sc[n], vl, base + slot(p) * hd, hd);
    }

    @Override
    public void truncate(int length) {
        if (length < 0 || length > capacity) {
            throw new IllegalArgumentException("truncate length " + length + " outside [0, " + capacity + "]");
        }
        if (length >= this.length) return;
        // positions still stored: the sinks and the last `ring` positions written
        int oldest = Math.max(sinks, this.length - ring);
        if (length - window + 1 < oldest && length > sinks) {
            throw new UnsupportedOperationException("cannot rewind to " + length + ": the sliding window no longer"
                    + " holds positions before " + oldest);
        }
        this.length = length;
    }

    @Override
    public long bytes() {
        return 2L * layers * kvHeads * (long) slots * headDim * Float.BYTES;
    }

    @Override
    public String describe() {
        String w = sinks == 0 ? "window:" + window : "sink:" + sinks + ",window:" + window;
        return mode == Mode.LM_INFINITE ? w + ",lminf:" + distanceCap : w;
    }
}
