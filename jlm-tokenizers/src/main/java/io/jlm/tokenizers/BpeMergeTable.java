package io.jlm.tokenizers;

import java.util.Arrays;

/** Open-addressing map (left symbol id, right symbol id) -> (rank, merged symbol id). */
final class BpeMergeTable {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final int[] ranks;
    private final int[] results;
    private final int mask;
    private int size;

    BpeMergeTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        Arrays.fill(keys, EMPTY);
        ranks = new int[cap];
        results = new int[cap];
        mask = cap - 1;
    }

    private static long key(int left, int right) { return ((long) left << 32) | (right & 0xFFFFFFFFL); }

    private static int hash(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    /** Adds a merge unless the pair is already present (the first, lowest rank, wins as in llama.cpp). */
    void putIfAbsent(int left, int right, int rank, int result) {
        long k = key(left, right);
        int i = hash(k) & mask;
        while (keys[i] != EMPTY) {
            if (keys[i] == k) return;
            i = (i + 1) & mask;
        }
        keys[i] = k;
        ranks[i] = rank;
        results[i] = result;
        size++;
    }

    /** Slot of the pair, or -1. */
    int find(int left, int right) {
        long k = key(left, right);
        int i = hash(k) & mask;
        while (true) {
            long kk = keys[i];
            if (kk == k) return i;
            if (kk == EMPTY) return -1;
            i = (i + 1) & mask;
        }
    }

    int rank(int slot) { return ranks[slot]; }
    int result(int slot) { return results[slot]; }
    int size() { return size; }
}
