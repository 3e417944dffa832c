package io.jlm.models.state;

import io.jlm.core.tensor.GGMLType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Block accounting, prefix caching, copy-on-write and numerics of {@link PagedKvCache} / {@link KvBlockPool}. */
class PagedKvCacheTest {
    private static final int LAYERS = 2, HEADS = 2, HD = 20;

    /** Key/value element of (layer, head, i) for a position holding token t (content identifies token+position). */
    private static float val(int layer, int head, int i, int token, int pos, boolean value) {
        return (float) Math.sin(0.37 * token + 0.011 * pos + 0.7 * layer + 0.13 * head + 0.05 * i + (value ? 1.3 : 0));
    }

    private static void writeTokens(KvCache c, int[] tokens, int from, int to) {
        float[] k = new float[HEADS * HD], v = new float[HEADS * HD];
        for (int p = from; p < to; p++) {
            for (int l = 0; l < LAYERS; l++) {
                for (int h = 0; h < HEADS; h++) {
                    for (int i = 0; i < HD; i++) {
                        k[h * HD + i] = val(l, h, i, tokens[p], p, false);
                        v[h * HD + i] = val(l, h, i, tokens[p], p, true);
                    }
                }
                c.write(l, p, k, 0, v, 0);
            }
        }
    }

    /** Checks that every key of positions [0, n) is the value written for tokens[p] at p (via scores with unit q). */
    private static void assertHolds(KvCache c, int[] tokens, int n, String what) {
        float[] q = new float[HD];
        float[] out = new float[n];
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) {
                for (int i = 0; i < HD; i++) {
                    Arrays.fill(q, 0f);
                    q[i] = 1f;
                    c.scores(l, h, q, 0, 0, n, out, 0);
                    for (int p = 0; p < n; p++) {
                        float want = val(l, h, i, tokens[p], p, false);
                        if (c.elementType() == GGMLType.F16) want = Float.float16ToFloat(Float.floatToFloat16(want));
                        assertEquals(want, out[p], what + ": key of layer " + l + " head " + h + " dim " + i + " pos " + p);
                    }
                }
            }
        }
    }

    private static int[] seq(int n, int start) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = start + i;
        return t;
    }

    @Test
    void scoresAndAccumulateAreBitIdenticalToContiguous() {
        Random rnd = new Random(7);
        for (GGMLType type : new GGMLType[]{GGMLType.F32, GGMLType.F16}) {
            int cap = 37;
            ContiguousKvCache ref = new ContiguousKvCache(type, LAYERS, cap, HEADS, HD);
            try (KvBlockPool pool = new KvBlockPool(type, LAYERS, HEADS, HD, 4, 12);
                 PagedKvCache paged = pool.newCache(cap)) {
                float[] k = new float[HEADS * HD], v = new float[HEADS * HD];
                for (int p = 0; p < cap; p++) {
                    for (int l = 0; l < LAYERS; l++) {
                        for (int i = 0; i < k.length; i++) { k[i] = (float) rnd.nextGaussian(); v[i] = (float) rnd.nextGaussian(); }
                        ref.write(l, p, k, 0, v, 0);
                        paged.write(l, p, k, 0, v, 0);
                    }
                }
                assertEquals(cap, paged.length());
                assertEquals(cap, ref.length());
                assertEquals(10, paged.blocks());
                float[] q = new float[HD + 3], w = new float[cap];
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                for (int i = 0; i < w.length; i++) w[i] = rnd.nextFloat();
                int[][] ranges = {{0, cap}, {0, 1}, {3, 9}, {4, 8}, {5, 36}, {17, 37}};
                for (int[] r : ranges) {
                    for (int l = 0; l < LAYERS; l++) {
                        for (int h = 0; h < HEADS; h++) {
                            float[] a = new float[r[1] - r[0] + 2], b = new float[a.length];
                            ref.scores(l, h, q, 3, r[0], r[1], a, 1);
                            paged.scores(l, h, q, 3, r[0], r[1], b, 1);
                            assertArrayEquals(a, b, type + " scores " + Arrays.toString(r));
                            float[] oa = new float[HD + 5], ob = new float[HD + 5];
                            Arrays.fill(oa, 0.25f);
                            Arrays.fill(ob, 0.25f);
                            ref.accumulate(l, h, w, 0, r[0], r[1], oa, 5);
                            paged.accumulate(l, h, w, 0, r[0], r[1], ob, 5);
                            assertArrayEquals(oa, ob, type + " accumulate " + Arrays.toString(r));
                        }
                    }
                }
            }
        }
    }

    @Test
    void blocksAreAccountedAndReserveFailsCleanly() {
        try (KvBlockPool pool = new KvBlockPool(GGMLType.F32, LAYERS, HEADS, HD, 4, 8)) {
            assertEquals(8, pool.totalBlocks());
            assertEquals(8, pool.freeBlocks());
            assertEquals(8L * KvBlockPool.blockBytes(LAYERS, HEADS, HD, 4), pool.bytes());
            int[] tokens = seq(40, 10);
            PagedKvCache a = pool.newCache(40);
            writeTokens(a, tokens, 0, 10);
            assertEquals(3, a.blocks());
            assertEquals(3, pool.usedBlocks());
            assertEquals(5, pool.freeBlocks());
            assertEquals(3 * KvBlockPool.blockBytes(LAYERS, HEADS, HD, 4), a.bytes());
            assertHolds(a, tokens, 10, "a");
            a.truncate(5);   // keeps blocks 0 and 1
            assertEquals(5, a.length());
            assertEquals(2, pool.usedBlocks());
            a.close();
            assertEquals(8, pool.freeBlocks());
            assertEquals(0, pool.usedBlocks());
            assertThrows(IllegalStateException.class, () -> a.write(0, 0, new float[HEADS * HD], 0, new float[HEADS * HD], 0));

            PagedKvCache b = pool.newCache(40);
            assertFalse(b.reserve(33), "33 positions need 9 blocks of 4, the pool has 8");
            assertEquals(0, b.blocks());
            assertEquals(8, pool.freeBlocks());
            assertFalse(b.reserve(41), "beyond the capacity");
            assertTrue(b.reserve(32));
            assertEquals(8, b.blocks());
            assertEquals(0, b.length(), "reserving writes nothing");
            PagedKvCache c = pool.newCache(8);
            assertFalse(c.reserve(1));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> writeTokens(c, tokens, 0, 1));
            assertTrue(e.getMessage().contains("exhausted"), e.getMessage());
            writeTokens(b, tokens, 0, 32);
            assertHolds(b, tokens, 32, "b");
            b.close();
            c.close();
            assertEquals(8, pool.freeBlocks());
        }
    }

    @Test
    void prefixIsSharedAndLastTokenIsAlwaysComputed() {
        for (GGMLType type : new GGMLType[]{GGMLType.F32, GGMLType.F16}) {
            try (KvBlockPool pool = new KvBlockPool(type, LAYERS, HEADS, HD, 4, 16)) {
                int[] a = seq(10, 100);
                PagedKvCache ca = pool.newCache(32);
                assertEquals(0, ca.attachPrefix(a), "nothing cached yet");
                writeTokens(ca, a, 0, 10);
                assertEquals(8, ca.publish(a), "two full blocks of 10 positions");
                assertEquals(2, pool.cachedBlocks());

                // same first 9 tokens, then different: 8 positions reused
                int[] b = a.clone();
                b[9] = 7;
                PagedKvCache cb = pool.newCache(32);
                assertEquals(8, cb.attachPrefix(b));
                assertEquals(8, cb.length());
                assertEquals(ca.block(0), cb.block(0));
                assertEquals(ca.block(1), cb.block(1));
                assertEquals(2, pool.refCount(ca.block(0)));
                assertEquals(3, pool.usedBlocks(), "the shared blocks count once");
                writeTokens(cb, b, 8, 10);
                assertHolds(cb, b, 10, type + " b after attach");
                assertHolds(ca, a, 10, type + " a unchanged");

                // a prompt that is exactly the cached 8 tokens: the last one must be computed, so only 4 reused
                PagedKvCache cc = pool.newCache(32);
                assertEquals(4, cc.attachPrefix(Arrays.copyOf(a, 8)));
                // 9 tokens: 8 reused
                PagedKvCache cd = pool.newCache(32);
                assertEquals(8, cd.attachPrefix(Arrays.copyOf(a, 9)));
                // a different first token: nothing
                int[] e = a.clone();
                e[0] = 5;
                PagedKvCache ce = pool.newCache(32);
                assertEquals(0, ce.attachPrefix(e));
                // a different token in the second block: only the first block
                int[] f = a.clone();
                f[6] = 5;
                PagedKvCache cf = pool.newCache(32);
                assertEquals(4, cf.attachPrefix(f));
                assertThrows(IllegalStateException.class, () -> cf.attachPrefix(f), "only on an empty cache");

                for (PagedKvCache c : new PagedKvCache[]{ca, cb, cc, cd, ce, cf}) c.close();
                assertEquals(16, pool.freeBlocks(), "cached blocks with no holder are evictable, hence free");
                assertEquals(2, pool.cachedBlocks());
                // still cached after everybody closed
                PagedKvCache cg = pool.newCache(32);
                assertEquals(8, cg.attachPrefix(a));
                assertHolds(cg, a, 8, type + " cached after close");
                cg.close();
            }
        }
    }

    @Test
    void leastRecentlyReleasedCachedBlockIsEvictedFirst() {
        try (KvBlockPool pool = new KvBlockPool(GGMLType.F32, LAYERS, HEADS, HD, 2, 4)) {
            int[][] prompts = {{1, 2, 9}, {3, 4, 9}, {5, 6, 9}};
            for (int[] p : prompts) {
                try (PagedKvCache c = pool.newCache(8)) {
                    writeTokens(c, p, 0, 3);
                    assertEquals(2, c.publish(p));
                }
            }
            assertEquals(3, pool.cachedBlocks());
            assertEquals(4, pool.freeBlocks());
            // re-use prompt 0: it becomes the most recently released; order is now 1, 2, 0
            try (PagedKvCache c = pool.newCache(8)) {
                assertEquals(2, c.attachPrefix(prompts[0]));
            }
            // three new blocks: the free one, then the cached blocks of prompts 1 and 2
            try (PagedKvCache d = pool.newCache(8)) {
                assertTrue(d.reserve(6));
                assertEquals(1, pool.cachedBlocks());
                assertEquals(1, pool.freeBlocks());
            }
            for (int i = 0; i < 3; i++) {
                try (PagedKvCache c = pool.newCache(8)) {
                    assertEquals(i == 0 ? 2 : 0, c.attachPrefix(prompts[i]), "prompt " + i);
                    if (i == 0) assertHolds(c, prompts[0], 2, "survivor");
                }
            }
        }
    }

    @Test
    void sharedBlocksAreCopiedBeforeWrites() {
        try (KvBlockPool pool = new KvBlockPool(GGMLType.F16, LAYERS, HEADS, HD, 4, 8)) {
            int[] a = seq(9, 40);
            PagedKvCache ca = pool.newCache(16);
            writeTokens(ca, a, 0, 9);
            assertEquals(8, ca.publish(a));
            PagedKvCache cb = pool.newCache(16);
            assertEquals(8, cb.attachPrefix(a));
            int shared1 = cb.block(1);
            assertEquals(2, pool.refCount(shared1));
            // b rewinds into the shared second block and writes a different token at position 6
            cb.truncate(6);
            assertEquals(2, pool.refCount(shared1), "truncate alone does not copy");
            int[] b = a.clone();
            b[6] = 3;
            b[7] = 4;
            writeTokens(cb, b, 6, 8);
            assertNotEquals(shared1, cb.block(1), "copied on write");
            assertEquals(1, pool.refCount(shared1));
            assertEquals(1, pool.refCount(cb.block(1)));
            assertEquals(ca.block(0), cb.block(0), "the first block stays shared");
            assertHolds(cb, b, 8, "b keeps the copied positions 4,5 and its own 6,7");
            assertHolds(ca, a, 9, "a is untouched");
            // truncating b below a block boundary releases its private copy
            int used = pool.usedBlocks();
            cb.truncate(4);
            assertEquals(used - 1, pool.usedBlocks());
            assertEquals(2, pool.refCount(ca.block(0)));

            // a published block is immutable even for its only holder: a rewrites position 5 after a rewind
            cb.close();
            int published1 = ca.block(1);
            ca.truncate(5);
            int[] a2 = a.clone();
            a2[5] = 1;
            writeTokens(ca, a2, 5, 6);
            assertNotEquals(published1, ca.block(1));
            assertHolds(ca, a2, 6, "a after rewrite");
            try (PagedKvCache cc = pool.newCache(16)) {
                assertEquals(8, cc.attachPrefix(a), "the published prefix survives a's rewrite");
                assertHolds(cc, a, 8, "cached content");
            }
            ca.close();
            assertEquals(8, pool.freeBlocks());
        }
    }

    @Test
    void reserveCopiesSharedBlockOrFailsWithoutChange() {
        try (KvBlockPool pool = new KvBlockPool(GGMLType.F32, LAYERS, HEADS, HD, 4, 3)) {
            int[] a = seq(9, 1);
            PagedKvCache ca = pool.newCache(12);
            writeTokens(ca, a, 0, 8);
            ca.publish(a);
            PagedKvCache cb = pool.newCache(12);
            assertEquals(8, cb.attachPrefix(a));
            cb.truncate(6);
            // writing 6..8 needs a copy of block 1 and a new block 2: two blocks, one is free
            assertFalse(cb.reserve(9));
            assertEquals(2, cb.blocks());
            assertEquals(ca.block(1), cb.block(1));
            assertTrue(cb.reserve(8), "one copy fits");
            assertNotEquals(ca.block(1), cb.block(1));
            assertHolds(cb, a, 6, "copied prefix");
            ca.close();
            cb.close();
            assertEquals(3, pool.freeBlocks());
        }
    }

    @Test
    void hashCollisionsNeverShareWrongBlocks() {
        try (KvBlockPool pool = new KvBlockPool(GGMLType.F32, LAYERS, HEADS, HD, 4, 16)) {
            pool.prefixHash((parent, tokens, from, n) -> 42L); // every block collides
            int[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
            PagedKvCache ca = pool.newCache(16);
            writeTokens(ca, a, 0, 9);
            assertEquals(4, ca.publish(a), "the second block's hash is taken by the first: not cached");
            assertEquals(1, pool.cachedBlocks());

            PagedKvCache cb = pool.newCache(16);
            assertEquals(0, cb.attachPrefix(new int[]{9, 9, 9, 9, 9}), "same hash, other tokens");
            PagedKvCache cc = pool.newCache(16);
            // block 1 has the tokens of block 0 and the same hash, but a different parent: only block 0 matches
            assertEquals(4, cc.attachPrefix(new int[]{1, 2, 3, 4, 1, 2, 3, 4, 0}));
            assertHolds(cc, a, 4, "the genuinely shared block");
            for (PagedKvCache c : new PagedKvCache[]{ca, cb, cc}) c.close();
        }
    }

    @Test
    void badDimensionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new KvBlockPool(GGMLType.Q8_0, 1, 1, 8, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> new KvBlockPool(GGMLType.F32, 1, 1, 8, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> KvBlockPool.forBytes(GGMLType.F32, 1, 1, 8, 4, 10));
        try (KvBlockPool p = KvBlockPool.forBytes(GGMLType.F32, 1, 1, 8, 4, 10 * 256 + 3)) {
            assertEquals(10, p.totalBlocks());
            assertThrows(IllegalArgumentException.class, () -> p.newCache(0));
        }
    }
}
