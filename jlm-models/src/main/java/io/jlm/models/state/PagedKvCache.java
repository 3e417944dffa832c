package io.jlm.models.state;

import io.jlm.core.quant.VectorMath;
import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The {@link KvCache} of one sequence, stored in blocks of a {@link KvBlockPool}. Its block table maps logical block
 * i (positions {@code [i*blockSize, (i+1)*blockSize)}) to a physical block of the pool; blocks are allocated on
 * demand when a position is first written (or up front with {@link #reserve}). Within a block, the positions of one
 * (layer, K/V, head) are contiguous, so attention scans whole blocks with the same kernels (and summation order) as
 * {@link ContiguousKvCache}: the two give bit-identical results.
 *
 * <p>Prefix caching: {@link #attachPrefix} makes a fresh cache start with blocks that another sequence published
 * ({@link #publish}) for the same leading tokens; they are shared (reference-counted) and immutable. A write into a
 * shared or published block (only possible after {@link #truncate} into it) first copies it (copy-on-write).
 *
 * <p>{@link #close()} returns the blocks to the pool at once. The cache is not thread-safe for concurrent
 * structural changes (writes into new blocks, truncate, attach, publish); reads of different heads may run in
 * parallel, as {@link KvCache} allows.
 */
public final class PagedKvCache implements KvCache, AutoCloseable {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private final KvBlockPool pool;
    private final int capacity, blockSize, headDim, kvHeads, headStride, layerStride;
    private final int[] table;
    /** True if table[i] is held exclusively and unregistered, so writes may go in place. */
    private final boolean[] writable;
    /** Prefix-cache registration of table[i] (attached or published), else null. */
    private final KvBlockPool.Registration[] registration;
    /** Chained prefix hash of logical block i, valid where registration[i] != null. */
    private final long[] chainHash;
    private int allocated;
    private int length;
    private boolean closed;

    PagedKvCache(KvBlockPool pool, int capacity) {
        this.pool = pool;
        this.capacity = capacity;
        this.blockSize = pool.blockSize();
        this.headDim = pool.headDim();
        this.kvHeads = pool.kvHeads();
        this.headStride = pool.headStride;
        this.layerStride = pool.layerStride;
        int n = (int) ((capacity + (long) blockSize - 1) / blockSize);
        this.table = new int[n];
        Arrays.fill(table, -1);
        this.writable = new boolean[n];
        this.registration = new KvBlockPool.Registration[n];
        this.chainHash = new long[n];
    }

    public KvBlockPool pool() { return pool; }

    @Override public GGMLType elementType() { return pool.elementType(); }
    @Override public int layers() { return pool.layers(); }
    @Override public int capacity() { return capacity; }
    @Override public int kvHeads(int layer) { return kvHeads; }
    @Override public int headDim(int layer) { return headDim; }

    /** Positions written so far (after {@link #attachPrefix}: the attached positions). */
    @Override public int length() { return length; }

    /** Number of blocks in the block table. */
    public int blocks() { return allocated; }

    /** Physical pool block of logical block {@code i} (for tests and diagnostics). */
    public int block(int i) {
        if (i < 0 || i >= allocated) throw new IndexOutOfBoundsException("logical block " + i + " of " + allocated);
        return table[i];
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("paged KV cache is closed");
    }

    /**
     * Makes sure positions {@code [0, positions)} can be written without running out of blocks: allocates the missing
     * blocks and copies shared blocks that would be written. Returns false, changing nothing, if {@code positions}
     * exceeds the capacity or the pool cannot supply the blocks even after evicting unreferenced cached blocks.
     */
    @Override
    public boolean reserve(int positions) {
        checkOpen();
        if (positions < 0) throw new IllegalArgumentException("reserve needs positions >= 0, got " + positions);
        if (positions > capacity) return false;
        int need = (positions + blockSize - 1) / blockSize;
        synchronized (pool) {
            int count = Math.max(0, need - allocated);
            for (int i = length / blockSize; i < Math.min(need, allocated); i++) {
                if (!writable[i] && !pool.exclusive(table[i])) count++;
            }
            if (pool.freeBlocks() < count) return false;
            for (int i = length / blockSize; i < Math.min(need, allocated); i++) makeWritable(i);
            while (allocated < need) grow();
        }
        return true;
    }

    private void grow() {
        int b = pool.allocate();
        if (b < 0) {
            throw new IllegalStateException("KV block pool exhausted: no free block for positions from "
                    + (allocated * blockSize) + " (" + pool.totalBlocks() + " blocks of " + blockSize
                    + " positions, all in use)");
        }
        table[allocated] = b;
        writable[allocated] = true;
        registration[allocated] = null;
        allocated++;
    }

    private void makeWritable(int i) {
        synchronized (pool) {
            int b = table[i];
            if (pool.exclusive(b)) {
                writable[i] = true;
                registration[i] = null;
                return;
            }
            int c = pool.copyOnWrite(b);
            if (c < 0) {
                throw new IllegalStateException("KV block pool exhausted: no free block to copy shared block " + b
                        + " before writing it (" + pool.totalBlocks() + " blocks, all in use)");
            }
            table[i] = c;
            writable[i] = true;
            registration[i] = null;
        }
    }

    @Override
    public void write(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside the KV cache capacity " + capacity);
        }
        checkOpen();
        int idx = position / blockSize;
        if (idx >= allocated) {
            synchronized (pool) {
                while (allocated <= idx) grow();
            }
        } else if (!writable[idx]) {
            makeWritable(idx);
        }
        float[] blk = pool.blocks[table[idx]];
        int base = layer * layerStride + (position - idx * blockSize) * headDim;
        int hd = headDim;
        boolean half = pool.elementType() == GGMLType.F16;
        for (int h = 0; h < kvHeads; h++) {
            int kd = base + h * headStride, vd = base + (kvHeads + h) * headStride;
            int ks = kOff + h * hd, vs = vOff + h * hd;
            if (half) {
                for (int i = 0; i < hd; i++) {
                    blk[kd + i] = Float.float16ToFloat(Float.floatToFloat16(k[ks + i]));
                    blk[vd + i] = Float.float16ToFloat(Float.floatToFloat16(v[vs + i]));
                }
            } else {
                System.arraycopy(k, ks, blk, kd, hd);
                System.arraycopy(v, vs, blk, vd, hd);
            }
        }
        if (position >= length) length = position + 1;
    }

    @Override
    public void scores(int layer, int kvHead, float[] q, int qOff, int from, int to, float[] out, int outOff) {
        float[][] blocks = pool.blocks;
        int hd = headDim, bs = blockSize;
        int off = layer * layerStride + kvHead * headStride;
        int p = from;
        while (p < to) {
            int idx = p / bs, first = idx * bs;
            float[] blk = blocks[table[idx]];
            int end = Math.min(to, first + bs);
            for (; p < end; p++) out[outOff + p - from] = VectorMath.dot(q, qOff, blk, off + (p - first) * hd, hd);
        }
    }

    @Override
    public void accumulate(int layer, int kvHead, float[] weights, int wOff, int from, int to, float[] out, int outOff) {
        float[][] blocks = pool.blocks;
        int hd = headDim, bs = blockSize;
        int off = layer * layerStride + (kvHeads + kvHead) * headStride;
        int step = F.length();
        int bound = hd - hd % step;
        // same order as ContiguousKvCache: per head-dim chunk, positions ascending with the sum in a register
        for (int i = 0; i < bound; i += step) {
            FloatVector acc = FloatVector.fromArray(F, out, outOff + i);
            int p = from;
            while (p < to) {
                int idx = p / bs, first = idx * bs;
                float[] blk = blocks[table[idx]];
                int end = Math.min(to, first + bs);
                int o = off + i - first * hd;
                for (; p < end; p++) {
                    acc = FloatVector.fromArray(F, blk, o + p * hd).fma(FloatVector.broadcast(F, weights[wOff + p - from]), acc);
                }
            }
            acc.intoArray(out, outOff + i);
        }
        for (int i = bound; i < hd; i++) {
            float s = out[outOff + i];
            for (int p = from; p < to; p++) {
                int idx = p / bs;
                s += weights[wOff + p - from] * blocks[table[idx]][off + (p - idx * bs) * hd + i];
            }
            out[outOff + i] = s;
        }
    }

    /**
     * Forgets positions >= {@code length}: whole blocks past it go back to the pool (a shared one only loses this
     * reference); a kept partial block that is shared is copied before it is next written.
     */
    @Override
    public void truncate(int length) {
        if (length < 0 || length > capacity) {
            throw new IllegalArgumentException("truncate length " + length + " outside [0, " + capacity + "]");
        }
        checkOpen();
        int keep = (length + blockSize - 1) / blockSize;
        synchronized (pool) {
            while (allocated > keep) {
                allocated--;
                pool.release(table[allocated]);
                table[allocated] = -1;
                writable[allocated] = false;
                registration[allocated] = null;
            }
        }
        if (length < this.length) this.length = length;
    }

    /**
     * On a fresh cache, attaches the longest run of full blocks that the pool has cached for a prefix of
     * {@code tokens} and returns the number of positions reused (a multiple of the block size). At most
     * {@code tokens.length - 1} positions are reused, so the last token is always computed (its logits are needed).
     * Afterwards {@link #length()} equals the returned value; run the forward pass on the remaining tokens.
     */
    public int attachPrefix(int[] tokens) {
        checkOpen();
        if (allocated != 0 || length != 0) {
            throw new IllegalStateException("attachPrefix needs an empty cache, this one holds " + length + " positions");
        }
        int maxBlocks = Math.min(Math.max(0, tokens.length - 1) / blockSize, table.length);
        long parentHash = KvBlockPool.ROOT_HASH, parentSerial = KvBlockPool.ROOT_SERIAL;
        for (int i = 0; i < maxBlocks; i++) {
            long h = pool.hash(parentHash, tokens, i * blockSize);
            KvBlockPool.Registration r = pool.acquireCached(h, parentSerial, tokens, i * blockSize);
            if (r == null) break;
            table[i] = r.block();
            writable[i] = false;
            registration[i] = r;
            chainHash[i] = h;
            allocated = i + 1;
            parentHash = h;
            parentSerial = r.serial();
        }
        length = allocated * blockSize;
        return length;
    }

    /**
     * Registers the full blocks covering {@code tokens[0 .. min(tokens.length, length()))} under their chained prefix
     * hashes, so that later sequences can {@link #attachPrefix attach} them; {@code tokens} must be the tokens this
     * cache holds, from position 0. Published blocks become immutable (a later write copies them). Stops early at a
     * hash taken by a different prefix (a collision: those blocks are simply not cached). Returns the number of
     * positions now covered by cached blocks.
     */
    public int publish(int[] tokens) {
        checkOpen();
        int full = Math.min(Math.min(tokens.length, length) / blockSize, allocated);
        long parentHash = KvBlockPool.ROOT_HASH, parentSerial = KvBlockPool.ROOT_SERIAL;
        int i = 0;
        for (; i < full; i++) {
            KvBlockPool.Registration r = registration[i];
            long h;
            if (r != null) {
                h = chainHash[i];
                if (r.parentSerial() != parentSerial || !Arrays.equals(r.tokens(), 0, blockSize, tokens,
                        i * blockSize, (i + 1) * blockSize)) {
                    throw new IllegalArgumentException("publish: tokens of block " + i + " (positions "
                            + i * blockSize + ".." + ((i + 1) * blockSize - 1) + ") differ from the cached prefix");
                }
            } else {
                h = pool.hash(parentHash, tokens, i * blockSize);
                r = pool.register(table[i], h, parentSerial, tokens, i * blockSize);
                if (r == null) break;
                if (r.block() == table[i]) {
                    registration[i] = r;
                    chainHash[i] = h;
                    writable[i] = false;
                }
            }
            parentHash = h;
            parentSerial = r.serial();
        }
        return i * blockSize;
    }

    /** Returns all blocks to the pool (shared ones lose one reference); the cache cannot be used afterwards. */
    @Override
    public void close() {
        if (closed) return;
        synchronized (pool) {
            for (int i = 0; i < allocated; i++) pool.release(table[i]);
        }
        allocated = 0;
        length = 0;
        closed = true;
    }

    /** Bytes of the pool blocks this sequence references (shared blocks count in full for every holder). */
    @Override
    public long bytes() {
        return (long) allocated * pool.blockFloats * Float.BYTES;
    }
}
