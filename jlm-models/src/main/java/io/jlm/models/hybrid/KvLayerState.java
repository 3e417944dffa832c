package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.state.AttentionKernels;

import java.util.Arrays;

/**
 * Keys and values of one softmax-attention sublayer: {@code A} keeps every position (capacity slots), {@code W}
 * keeps a ring buffer of the last {@code min(window, capacity)} positions (position {@code j} in slot
 * {@code j mod slots}), so its memory does not grow with the context. Keys are stored after RoPE.
 */
public final class KvLayerState implements LayerState {
    private final HybridConfig c;
    private final HybridWeights.Attention w;
    private final Scratch s;
    private final ThreadPool pool;
    private final char letter;
    private final boolean sliding;
    private final int slots;
    /** keys[slot * kvDim + kvHead * hs + i], likewise values. */
    private final float[] keys, values;
    /** ALiBi slope per query head, or null. */
    private final float[] slopes;
    private final float scale;

    KvLayerState(HybridConfig c, HybridWeights.Attention w, char letter, int capacity, Scratch s, ThreadPool pool) {
        this.c = c;
        this.w = w;
        this.s = s;
        this.pool = pool;
        this.letter = letter;
        this.sliding = letter == 'W';
        this.slots = slots(c, letter, capacity);
        this.keys = new float[slots * c.kvDim()];
        this.values = new float[slots * c.kvDim()];
        this.scale = (float) (1 / Math.sqrt(c.headDim()));
        if (c.position() == HybridConfig.Position.ALIBI) {
            slopes = new float[c.heads()];
            for (int h = 0; h < slopes.length; h++) slopes[h] = (float) Math.pow(2, -8.0 * (h + 1) / c.heads());
        } else {
            slopes = null;
        }
    }

    /** Positions a sublayer of this letter keeps for a state of {@code capacity} positions. */
    static int slots(HybridConfig c, char letter, int capacity) {
        return letter == 'W' ? Math.min(c.slidingWindow(), capacity) : capacity;
    }

    @Override public char letter() { return letter; }

    /** Whether this is a sliding-window ({@code W}) sublayer. */
    public boolean sliding() { return sliding; }

    /** Positions held: the capacity for {@code A}, {@code min(window, capacity)} for {@code W}. */
    public int slots() { return slots; }

    @Override public long bytes() { return 2L * keys.length * Float.BYTES; }

    @Override
    public void reset() {
        Arrays.fill(keys, 0f);
        Arrays.fill(values, 0f);
    }

    /** Attention for the token at {@code pos} with normed input {@code u}; writes {@code d} floats to {@code out}. */
    void step(float[] u, int pos, float[] out) {
        int hs = c.headDim(), nh = c.heads(), nkv = c.kvHeads(), kvDim = c.kvDim(), group = nh / nkv;
        float[] q = s.q, k = s.k, v = s.v, o = s.o, att = s.att;
        w.q().matvec(u, q, pool);
        w.k().matvec(u, k, pool);
        w.v().matvec(u, v, pool);
        if (c.position() == HybridConfig.Position.ROPE) {
            rope(q, nh, hs);
            rope(k, nkv, hs);
        }
        int slot = pos % slots;
        System.arraycopy(k, 0, keys, slot * kvDim, kvDim);
        System.arraycopy(v, 0, values, slot * kvDim, kvDim);
        int first = sliding ? Math.max(0, pos - c.slidingWindow() + 1) : 0;
        int n = pos - first + 1;
        for (int h = 0; h < nh; h++) {
            int qo = h * hs, ko = (h / group) * hs;
            float slope = slopes == null ? 0f : slopes[h];
            for (int i = 0; i < n; i++) {
                int j = first + i;
                int base = (j % slots) * kvDim + ko;
                float dot = 0f;
                for (int e = 0; e < hs; e++) dot += q[qo + e] * keys[base + e];
                att[i] = dot * scale - slope * (pos - j);
            }
            AttentionKernels.softmax(att, n, 1f, 0f);
            Arrays.fill(o, qo, qo + hs, 0f);
            for (int i = 0; i < n; i++) {
                AttentionKernels.axpy(o, qo, att[i], values, ((first + i) % slots) * kvDim + ko, hs);
            }
        }
        w.o().matvec(o, out, pool);
    }

    /** Rotates the pairs (2j, 2j+1) of each of {@code heads} heads by the current position's angles. */
    private void rope(float[] x, int heads, int hs) {
        float[] cos = s.ropeCos, sin = s.ropeSin;
        for (int h = 0; h < heads; h++) {
            int b = h * hs;
            for (int j = 0; j < hs / 2; j++) {
                float a0 = x[b + 2 * j], a1 = x[b + 2 * j + 1];
                x[b + 2 * j] = a0 * cos[j] - a1 * sin[j];
                x[b + 2 * j + 1] = a0 * sin[j] + a1 * cos[j];
            }
        }
    }
}
