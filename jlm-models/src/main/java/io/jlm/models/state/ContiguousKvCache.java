package io.jlm.models.state;

import io.jlm.core.quant.VectorMath;
import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A {@link KvCache} preallocated for its full capacity. Per layer, keys and values are each one float array laid
 * out head-major, {@code [kvHead][position][headDim]}, so the positions scanned by one attention head are
 * contiguous in memory. With element type {@link GGMLType#F16} values are rounded to half precision when written
 * (the numerics of llama.cpp's default f16 cache; storage stays float32 so the attention loops need no conversion).
 */
public final class ContiguousKvCache implements KvCache {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private final GGMLType type;
    private final int layers;
    private final int capacity;
    private final int kvHeads;
    private final int headDim;
    private final float[][] keys;
    private final float[][] values;
    private int length;

    /**
     * A cache of {@code layers} layers, each with {@code kvHeads} heads of {@code headDim} elements per position,
     * of precision {@code type} (F32 or F16).
     */
    public ContiguousKvCache(GGMLType type, int layers, int capacity, int kvHeads, int headDim) {
        if (type != GGMLType.F32 && type != GGMLType.F16) {
            throw new IllegalArgumentException("KV cache type " + type + " is not supported; expected F32 or F16");
        }
        if (layers < 1 || capacity < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("KV cache dimensions must be positive: layers=" + layers
                    + " capacity=" + capacity + " kvHeads=" + kvHeads + " headDim=" + headDim);
        }
        long perLayer = (long) capacity * kvHeads * headDim;
        if (perLayer > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache of " + capacity + " positions x " + kvHeads + " heads x "
                    + headDim + " floats per layer exceeds one Java array; use a smaller context");
        }
        this.type = type;
        this.layers = layers;
        this.capacity = capacity;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.keys = new float[layers][(int) perLayer];
        this.values = new float[layers][(int) perLayer];
    }

    @Override public GGMLType elementType() { return type; }
    @Override public int layers() { return layers; }
    @Override public int capacity() { return capacity; }
    @Override public int kvHeads(int layer) { return kvHeads; }
    @Override public int headDim(int layer) { return headDim; }

    /** One past the highest position written since creation or the last {@link #truncate}. */
    @Override public int length() { return length; }

    @Override
    public void write(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the KV cache capacity " + capacity);
        }
        float[] kl = keys[layer], vl = values[layer];
        if (position >= length) length = position + 1;
        for (int h = 0; h < kvHeads; h++) {
            int dst = (h * capacity + position) * headDim;
            if (type == GGMLType.F16) {
                int ks = kOff + h * headDim, vs = vOff + h * headDim;
                for (int i = 0; i < headDim; i++) {
                    kl[dst + i] = Float.float16ToFloat(Float.floatToFloat16(k[ks + i]));
                    vl[dst + i] = Float.float16ToFloat(Float.floatToFloat16(v[vs + i]));
                }
            } else {
                System.arraycopy(k, kOff + h * headDim, kl, dst, headDim);
                System.arraycopy(v, vOff + h * headDim, vl, dst, headDim);
            }
        }
    }

    @Override
    public void scores(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff) {
        float[] kl = keys[layer];
        int base = kvHead * capacity * headDim;
        int hd = headDim;
        for (int p = from; p < to; p++) {
            out[outOff + p - from] = VectorMath.dot(q, qOff, kl, base + p * hd, hd);
        }
    }

    @Override
    public void accumulate(int layer, int kvHead, float[] weights, int wOff, int from, int to, float[] out, int outOff) {
        float[] vl = values[layer];
        int hd = headDim;
        int base = kvHead * capacity * hd;
        int step = F.length();
        int bound = hd - hd % step;
        // loop over the head dimension in vector chunks, positions inside: out chunk stays in a register
        for (int i = 0; i < bound; i += step) {
            FloatVector acc = FloatVector.fromArray(F, out, outOff + i);
            for (int p = from; p < to; p++) {
                acc = FloatVector.fromArray(F, vl, base + p * hd + i).fma(FloatVector.broadcast(F, weights[wOff + p - from]), acc);
            }
            acc.intoArray(out, outOff + i);
        }
        for (int i = bound; i < hd; i++) {
            float s = out[outOff + i];
            for (int p = from; p < to; p++) s += weights[wOff + p - from] * vl[base + p * hd + i];
            out[outOff + i] = s;
        }
    }

    @Override
    public void truncate(int length) {
        if (length < 0 || length > capacity) {
            throw new IllegalArgumentException("truncate length " + length + " outside [0, " + capacity + "]");
        }
        // contiguous storage: stale entries beyond length are simply overwritten by later writes
        if (length < this.length) this.length = length;
    }

    @Override
    public long bytes() {
        return 2L * layers * (long) capacity * kvHeads * headDim * Float.BYTES;
    }
}
