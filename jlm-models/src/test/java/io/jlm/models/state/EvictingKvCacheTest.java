package io.jlm.models.state;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Eviction caches against an independent float64 simulation of H2O / A2SF (attention over the retained set,
 * accumulated scores, eviction of the lowest group score outside the recent window), and budget/recent invariants.
 */
class EvictingKvCacheTest {
    static final int HEADS = 4, KV = 2, HD = 8, GROUP = HEADS / KV;
    static final float SCALE = (float) (1 / Math.sqrt(HD));

    @Test
    void h2oMatchesSimulation() { simulate(EvictingKvCache.Scoring.H2O, 1f); }

    @Test
    void a2sfMatchesSimulation() { simulate(EvictingKvCache.Scoring.A2SF, 0.8f); }

    @Test
    void keyformerAttendsRetainedSetAndKeepsBudget() { simulate(EvictingKvCache.Scoring.KEYFORMER, 1f); }

    private void simulate(EvictingKvCache.Scoring scoring, float forget) {
        int budget = 10, recent = 3, chunk = 4, n = 70;
        EvictingKvCache cache = new EvictingKvCache(1, 1000, KV, HD, budget, recent, scoring, forget, 1f, 5, chunk);
        cache.configure(new AttentionGeometry(HEADS, KV, HD, SCALE, 0f, null, 1,
                new AttentionGeometry.Rope(HD, RefAttention.invFreq(HD, 10000), false)));
        long bytes0 = cache.bytes();
        Random r = new Random(21);
        float[][] kAll = new float[n][], vAll = new float[n][];
        List<TreeSet<Integer>> kept = new ArrayList<>();
        List<Map<Integer, Double>> score = new ArrayList<>(); // per query head: position -> score
        for (int h = 0; h < KV; h++) kept.add(new TreeSet<>());
        for (int h = 0; h < HEADS; h++) score.add(new HashMap<>());
        boolean exact = scoring != EvictingKvCache.Scoring.KEYFORMER;
        int[] sizes = {4, 1, 1, 3, 2, 1, 4, 1};
        for (int pos = 0, c = 0; pos < n; c++) {
            int b = Math.min(sizes[c % sizes.length], n - pos);
            cache.beginChunk(pos, b);
            float[][] qs = new float[b][];
            for (int i = 0; i < b; i++) {
                int p = pos + i;
                kAll[p] = RefAttention.random(r, KV * HD);
                vAll[p] = RefAttention.random(r, KV * HD);
                for (int x = 0; x < HD; x++) kAll[p][x] *= 2; // less uniform weights
                cache.write(0, p, kAll[p], 0, vAll[p], 0);
                for (int h = 0; h < KV; h++) kept.get(h).add(p);
                for (int h = 0; h < HEADS; h++) score.get(h).put(p, 0.0);
                qs[i] = RefAttention.random(r, HEADS * HD);
            }
            for (int h = 0; h < HEADS; h++) {
                int kvh = h / GROUP;
                for (int i = 0; i < b; i++) {
                    int p = pos + i;
                    TreeSet<Integer> set = exact ? kept.get(kvh) : toSet(cache.retainedPositions(0, kvh));
                    List<Integer> vis = new ArrayList<>(set.headSet(p, true));
                    List<float[]> keys = new ArrayList<>(), values = new ArrayList<>();
                    for (int k : vis) {
                        keys.add(Arrays.copyOfRange(kAll[k], kvh * HD, (kvh + 1) * HD));
                        values.add(Arrays.copyOfRange(vAll[k], kvh * HD, (kvh + 1) * HD));
                    }
                    float[] out = new float[HD];
                    cache.attend(0, h, qs[i], h * HD, p, out, 0, 0);
                    RefAttention.assertClose(RefAttention.attend(qs[i], h * HD, HD, keys, values, SCALE), out, 0, 2e-5,
                            scoring + " pos " + p + " head " + h);
                    double[] w = RefAttention.weights(qs[i], h * HD, HD, keys, SCALE);
                    Map<Integer, Double> sh = score.get(h);
                    if (scoring == EvictingKvCache.Scoring.A2SF) sh.replaceAll((k, v) -> v * forget);
                    for (int j = 0; j < vis.size(); j++) sh.merge(vis.get(j), w[j], Double::sum);
                }
            }
            cache.endChunk();
            int newest = pos + b - 1;
            for (int kvh = 0; kvh < KV; kvh++) {
                TreeSet<Integer> set = kept.get(kvh);
                int excess = set.size() - budget;
                if (excess > 0) {
                    final int g = kvh;
                    List<Integer> cand = new ArrayList<>(set.headSet(newest - recent, true));
                    Comparator<Integer> byScore = Comparator.comparingDouble(k -> groupScore(score, g, k));
                    cand.sort(byScore.thenComparingInt(k -> k));
                    for (int i = 0; i < excess; i++) set.remove(cand.get(i));
                }
                int[] actual = cache.retainedPositions(0, kvh);
                assertTrue(actual.length <= budget, "budget kept: " + actual.length);
                assertEquals(Math.min(budget, newest + 1), actual.length);
                for (int p = Math.max(0, newest - recent + 1); p <= newest; p++) {
                    assertTrue(Arrays.binarySearch(actual, p) >= 0, "recent position " + p + " kept");
                }
                if (exact) {
                    assertArrayEquals(set.stream().mapToInt(Integer::intValue).toArray(), actual,
                            scoring + " retained set after position " + newest + " kv head " + kvh);
                }
            }
            pos += b;
        }
        assertEquals(bytes0, cache.bytes(), "memory is flat");
        assertTrue(cache.evictions() > 0);
    }

    private static double groupScore(List<Map<Integer, Double>> score, int kvh, int pos) {
        double t = 0;
        for (int h = kvh * GROUP; h < (kvh + 1) * GROUP; h++) t += score.get(h).get(pos);
        return t;
    }

    private static TreeSet<Integer> toSet(int[] a) {
        TreeSet<Integer> s = new TreeSet<>();
        for (int x : a) s.add(x);
        return s;
    }

    @Test
    void rejectsBadParameters() {
        assertThrows(IllegalArgumentException.class,
                () -> new EvictingKvCache(1, 10, 1, 8, 4, 4, EvictingKvCache.Scoring.H2O, 1f, 1f, 1, 4));
        assertThrows(IllegalArgumentException.class,
                () -> new EvictingKvCache(1, 10, 1, 8, 4, 1, EvictingKvCache.Scoring.A2SF, 0f, 1f, 1, 4));
    }
}
