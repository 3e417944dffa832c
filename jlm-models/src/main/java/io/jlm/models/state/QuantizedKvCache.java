package io.jlm.models.state;

import io.jlm.core.quant.Q4_0Kernel;
import io.jlm.core.quant.Q8_0Kernel;
import io.jlm.core.quant.WeightKernel;
import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A {@link KvCache} storing keys and values in ggml's 32-element quantization blocks, {@link GGMLType#Q8_0}
 * (34 bytes per 32 elements: f16 scale + 32 int8) or {@link GGMLType#Q4_0} (18 bytes: f16 scale + 32 nibbles).
 *
 * <p>Layout, as llama.cpp's quantized K/V cache rows: per layer and position one row of
 * {@code kvHeads * headDim} elements, cut into 32-element blocks (so with a head dimension below 32 one block
 * spans several heads). The attention reads the blocks directly: {@link #scores} is a fused dequantize-dot of the
 * float32 query against the stored blocks (jlm-core's weight kernels, {@link WeightKernel#dot}, when a head is a
 * whole number of blocks; a scalar per-element path otherwise). The query is <em>not</em> quantized: this keeps one
 * rounding (of the cache) instead of two, at the cost of float instead of integer products.
 * {@link #accumulate} dequantizes one value head at a time into a per-thread scratch row and adds it weighted
 * (the per-thread rows are padded to whole cache lines: no false sharing between the threads of a split-K pass).
 *
 * <p>Storage is preallocated for the full capacity, as for {@link ContiguousKvCache}, so bytes compare directly:
 * q8_0 holds 34/128 of the float32 bytes (3.76x fewer), q4_0 18/128 (7.1x fewer).
 */
public final class QuantizedKvCache implements KvCache {
    private static final int QK = 32;

    private final GGMLType type;
    private final WeightKernel kernel;
    private final int blockBytes;
    private final int layers, capacity, kvHeads, headDim, rowElems, rowBytes;
    private final boolean headAligned;
    /** Heap storage (small heads, read element-wise); null when the head is whole blocks (native segments). */
    private final byte[][] keys, values;
    private final MemorySegment[] keySeg, valueSeg;
    /** Floats of padding around each per-thread row: a cache line, so no two threads' rows share one. */
    private static final int PAD = 16;
    /** Per thread: {@code PAD | dequantized value row | PAD | accumulator row | PAD}. */
    private final ThreadLocal<float[]> work;
    private int length;

    public QuantizedKvCache(GGMLType type, int layers, int capacity, int kvHeads, int headDim) {
        this.type = type;
        this.kernel = switch (type) {
            case Q8_0 -> Q8_0Kernel.INSTANCE;
            case Q4_0 -> Q4_0Kernel.INSTANCE;
            default -> throw new IllegalArgumentException("quantized KV cache type " + type + " is not supported; expected Q8_0 or Q4_0");
        };
        this.blockBytes = type == GGMLType.Q8_0 ? 34 : 18;
        if (layers < 1 || capacity < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("KV cache dimensions must be positive: layers=" + layers
                    + " capacity=" + capacity + " kvHeads=" + kvHeads + " headDim=" + headDim);
        }
        this.rowElems = kvHeads * headDim;
        if (rowElems % QK != 0) {
            throw new IllegalArgumentException(type + " KV cache needs kvHeads * headDim to be a multiple of " + QK
                    + "; got " + kvHeads + " x " + headDim);
        }
        this.rowBytes = rowElems / QK * blockBytes;
        if ((long) rowBytes * capacity > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("quantized KV cache of " + capacity + " positions x " + rowBytes
                    + " bytes per layer exceeds one Java array; use a smaller context");
        }
        this.layers = layers;
        this.capacity = capacity;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.headAligned = headDim % QK == 0;
        this.keySeg = new MemorySegment[layers];
        this.valueSeg = new MemorySegment[layers];
        if (headAligned) {
            // whole-block heads go through jlm-core's kernels, which run best (and scale across threads) on native
            // memory, as for mapped weights; freed by the garbage collector with the cache
            this.keys = null;
            this.values = null;
            Arena arena = Arena.ofAuto();
            for (int l = 0; l < layers; l++) {
                keySeg[l] = arena.allocate((long) rowBytes * capacity, 64);
                valueSeg[l] = arena.allocate((long) rowBytes * capacity, 64);
            }
        } else {
            this.keys = new byte[layers][rowBytes * capacity];
            this.values = new byte[layers][rowBytes * capacity];
            for (int l = 0; l < layers; l++) {
                keySeg[l] = MemorySegment.ofArray(keys[l]);
                valueSeg[l] = MemorySegment.ofArray(values[l]);
            }
        }
        // one padded array per thread: separate small arrays of two threads can end up side by side in the heap (a
        // GC copies survivors together) and then share a cache line written at every position (false sharing)
        this.work = ThreadLocal.withInitial(() -> new float[2 * headDim + 3 * PAD]);
    }

    @Override public GGMLType elementType() { return type; }
    @Override public int layers() { return layers; }
    @Override public int capacity() { return capacity; }
    @Override public int kvHeads(int layer) { return kvHeads; }
    @Override public int headDim(int layer) { return headDim; }
    @Override public int length() { return length; }

    @Override
    public void write(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the KV cache capacity " + capacity);
        }
        long off = (long) position * rowBytes;
        kernel.quantize(k, kOff, rowElems, keySeg[layer], off);
        kernel.quantize(v, vOff, rowElems, valueSeg[layer], off);
        if (position >= length) length = position + 1;
    }

    @Override
    public void scores(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff) {
        if (headAligned) {
            MemorySegment seg = keySeg[layer];
            long headOff = (long) kvHead * (headDim / QK) * blockBytes;
            for (int p = from; p < to; p++) {
                out[outOff + p - from] = kernel.dot(seg, (long) p * rowBytes + headOff, q, qOff, headDim);
            }
        } else if (QK % headDim == 0) { // the head lies inside one block: one scale per position
            byte[] kl = keys[layer];
            int e0 = kvHead * headDim, blockOff = (e0 / QK) * blockBytes, j0 = e0 % QK;
            boolean q8 = type == GGMLType.Q8_0;
            for (int p = from; p < to; p++) {
                int b = p * rowBytes + blockOff;
                float s = 0f;
                if (q8) {
                    for (int i = 0; i < headDim; i++) s += q[qOff + i] * kl[b + 2 + j0 + i];
                } else {
                    for (int i = 0; i < headDim; i++) {
                        int j = j0 + i, byt = kl[b + 2 + (j & 15)] & 0xFF;
                        s += q[qOff + i] * ((j < 16 ? byt & 0x0F : byt >>> 4) - 8);
                    }
                }
                out[outOff + p - from] = s * Float.float16ToFloat((short) ((kl[b] & 0xFF) | (kl[b + 1] << 8)));
            }
        } else {
            byte[] kl = keys[layer];
            int e0 = kvHead * headDim;
            for (int p = from; p < to; p++) {
                int row = p * rowBytes;
                float s = 0f;
                for (int i = 0; i < headDim; i++) s += q[qOff + i] * element(kl, row, e0 + i);
                out[outOff + p - from] = s;
            }
        }
    }

    @Override
    public void accumulate(int layer, int kvHead, float[] weights, int wOff, int from, int to, float[] out, int outOff) {
        if (headAligned) {
            // sums in a thread-local row, added to out once: out (neighbouring heads of other threads) is written once
            MemorySegment seg = valueSeg[layer];
            long headOff = (long) kvHead * (headDim / QK) * blockBytes;
            float[] w = work.get();
            int tmp = PAD, acc = 2 * PAD + headDim;
            java.util.Arrays.fill(w, acc, acc + headDim, 0f);
            for (int p = from; p < to; p++) {
                float a = weights[wOff + p - from];
                if (a == 0f) continue;
                kernel.dequantize(seg, (long) p * rowBytes + headOff, w, tmp, headDim);
                AttentionKernels.axpy(w, acc, a, w, tmp, headDim);
            }
            AttentionKernels.axpy(out, outOff, 1f, w, acc, headDim);
        } else if (QK % headDim == 0) {
            byte[] vl = values[layer];
            int e0 = kvHead * headDim, blockOff = (e0 / QK) * blockBytes, j0 = e0 % QK;
            boolean q8 = type == GGMLType.Q8_0;
            for (int p = from; p < to; p++) {
                int b = p * rowBytes + blockOff;
                float w = weights[wOff + p - from] * Float.float16ToFloat((short) ((vl[b] & 0xFF) | (vl[b + 1] << 8)));
                if (q8) {
                    for (int i = 0; i < headDim; i++) out[outOff + i] += w * vl[b + 2 + j0 + i];
                } else {
                    for (int i = 0; i < headDim; i++) {
                        int j = j0 + i, byt = vl[b + 2 + (j & 15)] & 0xFF;
                        out[outOff + i] += w * ((j < 16 ? byt & 0x0F : byt >>> 4) - 8);
                    }
                }
            }
        } else {
            byte[] vl = values[layer];
            int e0 = kvHead * headDim;
            for (int p = from; p < to; p++) {
                float w = weights[wOff + p - from];
                int row = p * rowBytes;
                for (int i = 0; i < headDim; i++) out[outOff + i] += w * element(vl, row, e0 + i);
            }
        }
    }

    /** Element {@code e} of the row starting at byte {@code row} (scalar dequantization). */
    private float element(byte[] data, int row, int e) {
        int b = row + (e / QK) * blockBytes, j = e % QK;
        float d = Float.float16ToFloat((short) ((data[b] & 0xFF) | (data[b + 1] << 8)));
        if (type == GGMLType.Q8_0) return d * data[b + 2 + j];
        int byt = data[b + 2 + (j & 15)] & 0xFF;
        return d * ((j < 16 ? byt & 0x0F : byt >>> 4) - 8);
    }

    /** Dequantizes the key ({@code value == false}) or value of (layer, position) into {@code out[0 .. kvHeads*headDim)}. */
    public void dequantizeRow(int layer, int position, boolean value, float[] out) {
        kernel.dequantize(value ? valueSeg[layer] : keySeg[layer], (long) position * rowBytes, out, 0, rowElems);
    }

    @Override
    public void truncate(int length) {
        if (length < 0 || length > capacity) {
            throw new IllegalArgumentException("truncate length " + length + " outside [0, " + capacity + "]");
        }
        if (length < this.length) this.length = length;
    }

    @Override
    public long bytes() {
        return 2L * layers * (long) rowBytes * capacity;
    }

    @Override
    public String describe() { return type == GGMLType.Q8_0 ? "q8_0" : "q4_0"; }
}
