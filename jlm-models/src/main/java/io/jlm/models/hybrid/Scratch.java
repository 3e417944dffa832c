package io.jlm.models.hybrid;

/**
 * Scratch buffers of one {@link HybridState}, shared by all its sublayers (which run one after the other), so that
 * a token step allocates nothing. Sized for the largest sublayer of the pattern.
 */
final class Scratch {
    /** Projections of attention-like mixers ({@code d} floats each; {@code nh*hs = d}, {@code nkv*hs <= d}). */
    final float[] q, k, v, o;
    /** F hidden ({@code f}), R gate ({@code d}). */
    final float[] gate, up;
    /** Attention weights of one head over the visible positions. */
    final float[] att;
    /** RoPE cos / sin of the current position, {@code hs/2} each. */
    final float[] ropeCos, ropeSin;
    /** Mamba: in-projection (x, z), conv output, (dt, B, C), dt, y. */
    final float[] xz, xc, xdb, dt, y;

    Scratch(HybridConfig c, int attentionPositions) {
        int d = c.dim();
        q = new float[d];
        k = new float[d];
        v = new float[d];
        o = new float[d];
        gate = new float[Math.max(c.ffnDim(), d)];
        up = new float[c.ffnDim()];
        att = new float[attentionPositions];
        ropeCos = new float[c.headDim() / 2];
        ropeSin = new float[c.headDim() / 2];
        xz = new float[2 * c.dInner()];
        xc = new float[c.dInner()];
        xdb = new float[c.dtRank() + 2 * c.dState()];
        dt = new float[c.dInner()];
        y = new float[c.dInner()];
    }

    long bytes() {
        long floats = 0;
        for (float[] a : new float[][]{q, k, v, o, gate, up, att, ropeCos, ropeSin, xz, xc, xdb, dt, y}) floats += a.length;
        return floats * Float.BYTES;
    }
}
