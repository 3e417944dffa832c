package io.jlm.models.state;

import io.jlm.core.tensor.GGMLType;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * One pre-allocated pool of fixed-size KV blocks shared by many sequences (vLLM-style paging). A block holds the
 * keys and values of {@link #blockSize()} consecutive positions for <em>all</em> layers; a sequence's
 * {@link PagedKvCache} maps its logical block i (positions {@code [i*blockSize, (i+1)*blockSize)}) to a physical
 * block of this pool through its block table.
 *
 * <p><b>Reference counts.</b> Every physical block has a reference count: the number of block tables that hold it.
 * A block with count 0 is either <em>free</em> or, if it was published for prefix caching, <em>cached</em>: it keeps
 * its contents and stays findable by {@link PagedKvCache#attachPrefix} until the pool needs the memory.
 *
 * <p><b>Prefix caching.</b> A full block can be registered under the hash of the token prefix it completes:
 * {@code hash(block i) = H(hash(block i-1), tokens of block i)} (token ids only). A later sequence whose prompt
 * starts with the same tokens attaches those blocks instead of recomputing them. A hit is verified, never trusted:
 * the registered block stores its own tokens and the registration serial of its parent block, so a 64-bit hash
 * collision cannot hand out the wrong keys and values. Shared (count > 1) and registered blocks are immutable;
 * a sequence that must write into one copies it first (copy-on-write).
 *
 * <p><b>Eviction.</b> When no free block is left, the least recently released cached block (count 0) is
 * unregistered and reused (LRU). {@link #freeBlocks()} counts free plus evictable cached blocks.
 *
 * <p><b>Precision.</b> Elements are stored as float32; with {@link GGMLType#F16} values are rounded to half precision
 * when written, exactly like {@link ContiguousKvCache}, so the two caches give bit-identical attention results.
 *
 * <p>Thread safety: allocation, release, attach and publish are synchronized on the pool, so caches of one pool
 * may be created, grown and closed from different threads. A cache itself is used by one forward pass at a time.
 */
public final class KvBlockPool implements AutoCloseable {
    private final GGMLType type;
    private final int layers, kvHeads, headDim, blockSize, numBlocks;
    /** Floats per (layer, K or V, head) slab inside a block: blockSize * headDim. */
    final int headStride;
    /** Floats per layer inside a block: 2 * kvHeads * headStride (keys then values). */
    final int layerStride;
    final int blockFloats;
    float[][] blocks;

    private final int[] refCount;
    /** Registration of each block for prefix caching (null: not registered). */
    private final Registration[] registration;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    /** Registered blocks with count 0, least recently released first. */
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();
    private final Map<Long, Registration> byHash = new HashMap<>();
    private long serials;

    /** A registered (published) full block. */
    record Registration(int block, long hash, long serial, long parentSerial, int[] tokens) {}

    /**
     * A pool of {@code numBlocks} blocks of {@code blockSize} positions for a model with {@code layers} layers of
     * {@code kvHeads} KV heads of {@code headDim} floats, element precision {@code elementType} (F32 or F16).
     */
    public KvBlockPool(GGMLType elementType, int layers, int kvHeads, int headDim, int blockSize, int numBlocks) {
        if (elementType != GGMLType.F32 && elementType != GGMLType.F16) {
            throw new IllegalArgumentException("KV block pool element type " + elementType
                    + " is not supported; expected F32 or F16");
        }
        if (layers < 1 || kvHeads < 1 || headDim < 1 || blockSize < 1 || numBlocks < 1) {
            throw new IllegalArgumentException("KV block pool dimensions must be positive: layers=" + layers
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " blockSize=" + blockSize
                    + " numBlocks=" + numBlocks);
        }
        long floats = 2L * layers * kvHeads * blockSize * headDim;
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV block of " + blockSize + " positions x " + layers + " layers x "
                    + kvHeads + " heads x " + headDim + " floats exceeds one Java array; use a smaller blockSize");
        }
        this.type = elementType;
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.headStride = blockSize * headDim;
        this.layerStride = 2 * kvHeads * headStride;
        this.blockFloats = (int) floats;
        this.blocks = new float[numBlocks][];
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new float[blockFloats];
            free.add(i);
        }
        this.refCount = new int[numBlocks];
        this.registration = new Registration[numBlocks];
    }

    /** A pool with as many blocks as fit in {@code budgetBytes} (at least one). */
    public static KvBlockPool forBytes(GGMLType elementType, int layers, int kvHeads, int headDim, int blockSize,
                                       long budgetBytes) {
        long perBlock = blockBytes(layers, kvHeads, headDim, blockSize);
        long n = budgetBytes / perBlock;
        if (n < 1) {
            throw new IllegalArgumentException("KV budget of " + budgetBytes + " bytes is smaller than one block of "
                    + perBlock + " bytes (" + blockSize + " positions)");
        }
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("KV budget " + budgetBytes + " gives too many blocks");
        return new KvBlockPool(elementType, layers, kvHeads, headDim, blockSize, (int) n);
    }

    /** Bytes of one block with these dimensions. */
    public static long blockBytes(int layers, int kvHeads, int headDim, int blockSize) {
        return 2L * layers * kvHeads * headDim * blockSize * Float.BYTES;
    }

    public GGMLType elementType() { return type; }
    public int layers() { return layers; }
    public int kvHeads() { return kvHeads; }
    public int headDim() { return headDim; }
    public int blockSize() { return blockSize; }
    public int totalBlocks() { return numBlocks; }

    /** Blocks available to new allocations: free ones plus cached ones that nobody references (evictable). */
    public synchronized int freeBlocks() { return free.size() + evictable.size(); }

    /** Blocks referenced by at least one cache. */
    public synchronized int usedBlocks() { return numBlocks - free.size() - evictable.size(); }

    /** Registered (prefix-cached) blocks, referenced or not. */
    public synchronized int cachedBlocks() { return byHash.size(); }

    /** Bytes held by the pool's storage. */
    public long bytes() { return (long) numBlocks * blockFloats * Float.BYTES; }

    /** A fresh, empty per-sequence cache of up to {@code capacity} positions backed by this pool. */
    public PagedKvCache newCache(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("cache capacity must be >= 1, got " + capacity);
        checkOpen();
        return new PagedKvCache(this, capacity);
    }

    /** Reference count of {@code block} (for tests and metrics). */
    public synchronized int refCount(int block) { return refCount[block]; }

    @Override
    public synchronized void close() {
        blocks = null;
        free.clear();
        evictable.clear();
        byHash.clear();
    }

    private void checkOpen() {
        if (blocks == null) throw new IllegalStateException("KV block pool is closed");
    }

    // ---------------------------------------------------------------- allocation (callers hold the lock)

    /** Takes a free block, evicting the least recently released cached block if needed; -1 if none. */
    synchronized int allocate() {
        checkOpen();
        Integer b = free.poll();
        if (b == null) {
            var it = evictable.iterator();
            if (!it.hasNext()) return -1;
            b = it.next();
            it.remove();
            unregister(b);
        }
        refCount[b] = 1;
        return b;
    }

    /** Allocates {@code n} blocks into {@code out[0..n)} or none at all (returns false). */
    synchronized boolean allocate(int n, int[] out) {
        checkOpen();
        if (free.size() + evictable.size() < n) return false;
        for (int i = 0; i < n; i++) out[i] = allocate();
        return true;
    }

    /** Drops one reference; a block reaching 0 becomes evictable (if registered) or free. */
    synchronized void release(int b) {
        if (refCount[b] <= 0) throw new IllegalStateException("KV block " + b + " released more often than held");
        if (--refCount[b] == 0) {
            if (registration[b] != null) evictable.add(b);
            else free.add(b);
        }
    }

    /** True if a holder of {@code b} may write into it in place: it is the only holder and it is not registered. */
    synchronized boolean exclusive(int b) {
        return refCount[b] == 1 && registration[b] == null;
    }

    /**
     * Copy-on-write: a private copy of {@code b} (the caller's reference to {@code b} is dropped), or -1 if no block
     * can be allocated (then nothing changes).
     */
    synchronized int copyOnWrite(int b) {
        int c = allocate();
        if (c < 0) return -1;
        System.arraycopy(blocks[b], 0, blocks[c], 0, blockFloats);
        release(b);
        return c;
    }

    private void unregister(int b) {
        Registration r = registration[b];
        if (r == null) return;
        registration[b] = null;
        if (byHash.get(r.hash()) == r) byHash.remove(r.hash());
    }

    // ---------------------------------------------------------------- prefix hashing

    /** Root of the hash chain (hash of the empty prefix). */
    static final long ROOT_HASH = 0x6a09e667f3bcc909L;
    /** Parent serial of a first block. */
    static final long ROOT_SERIAL = 0;

    /** The chained prefix hash; replaceable by tests (package-private) to provoke collisions. */
    interface PrefixHash {
        long hash(long parent, int[] tokens, int from, int n);
    }

    private PrefixHash prefixHash = KvBlockPool::defaultHash;

    /** Replaces the prefix hash function (tests only: e.g. a constant to force collisions). */
    synchronized void prefixHash(PrefixHash h) { this.prefixHash = h; }

    /** H(parent, tokens[from .. from+blockSize)). */
    long hash(long parent, int[] tokens, int from) {
        return prefixHash.hash(parent, tokens, from, blockSize);
    }

    /** FNV-1a style over the token ids, then a 64-bit finalizer. */
    static long defaultHash(long parent, int[] tokens, int from, int blockSize) {
        long h = parent ^ 0xcbf29ce484222325L;
        for (int i = 0; i < blockSize; i++) {
            h ^= tokens[from + i];
            h *= 0x100000001b3L;
            h = Long.rotateLeft(h, 23);
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /**
     * The registered block for the prefix block {@code tokens[from .. from+blockSize)} whose parent registration is
     * {@code parentSerial}, with a new reference taken; null if none (or a colliding entry that fails verification).
     */
    synchronized Registration acquireCached(long hash, long parentSerial, int[] tokens, int from) {
        checkOpen();
        Registration r = byHash.get(hash);
        if (r == null || r.parentSerial() != parentSerial || !sameTokens(r.tokens(), tokens, from)) return null;
        int b = r.block();
        if (refCount[b]++ == 0) evictable.remove(b);
        return r;
    }

    /**
     * Registers block {@code b} (held by the caller) as the block completing the prefix block
     * {@code tokens[from .. from+blockSize)}. Returns the registration now canonical for that prefix (the block's
     * own, or an existing equal one), or null if the hash is taken by different content (a collision: not cached).
     */
    synchronized Registration register(int b, long hash, long parentSerial, int[] tokens, int from) {
        checkOpen();
        if (registration[b] != null) return registration[b].hash() == hash ? registration[b] : null;
        Registration old = byHash.get(hash);
        if (old != null) {
            if (!sameTokens(old.tokens(), tokens, from)) return null; // genuine collision: keep the old entry
            if (old.parentSerial() == parentSerial) return old;        // same prefix already cached elsewhere
            // same tokens under a stale parent registration (its parent was evicted): replace it
            unregister(old.block());
            if (refCount[old.block()] == 0 && evictable.remove(old.block())) free.add(old.block());
        }
        Registration r = new Registration(b, hash, ++serials, parentSerial,
                Arrays.copyOfRange(tokens, from, from + blockSize));
        registration[b] = r;
        byHash.put(hash, r);
        return r;
    }

    private boolean sameTokens(int[] stored, int[] tokens, int from) {
        for (int i = 0; i < blockSize; i++) if (stored[i] != tokens[from + i]) return false;
        return true;
    }
}
