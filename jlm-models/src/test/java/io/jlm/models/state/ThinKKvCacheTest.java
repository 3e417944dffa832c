package io.jlm.models.state;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ThinK: channel selection by query-weighted magnitude and attention over the kept key channels (float64 reference). */
class ThinKKvCacheTest {
    static final int HEADS = 4, KV = 2, HD = 8, GROUP = 2;
    static final float SCALE = (float) (1 / Math.sqrt(HD));

    @Test
    void selectsChannelsAndAttendsOverThem() {
        int first = 6, observe = 3, n = 20;
        ThinKKvCache cache = new ThinKKvCache(1, 100, KV, HD, 0.5f, observe);
        cache.configure(new AttentionGeometry(HEADS, KV, HD, SCALE, 0f, null, 1,
                new AttentionGeometry.Rope(HD, RefAttention.invFreq(HD, 10000), false)));
        Random r = new Random(5);
        float[][] kAll = new float[n][], vAll = new float[n][], qAll = new float[n][];
        for (int p = 0; p < n; p++) {
            kAll[p] = RefAttention.random(r, KV * HD);
            for (int i = 0; i < KV * HD; i++) kAll[p][i] *= 1 + (i % HD) * 0.4f; // channel magnitudes differ
            vAll[p] = RefAttention.random(r, KV * HD);
            qAll[p] = RefAttention.random(r, HEADS * HD);
        }
        // first chunk: full channels
        cache.beginChunk(0, first);
        for (int p = 0; p < first; p++) cache.write(0, p, kAll[p], 0, vAll[p], 0);
        for (int h = 0; h < HEADS; h++) {
            for (int p = 0; p < first; p++) check(cache, h, p, kAll, vAll, qAll, null);
        }
        long before = cache.bytes();
        cache.endChunk();
        assertTrue(cache.bytes() < before, "pruned keys hold fewer bytes");
        int[][] expected = new int[KV][];
        for (int kvh = 0; kvh < KV; kvh++) {
            double[] s = new double[HD];
            for (int c = 0; c < HD; c++) {
                double ks = 0, qs = 0;
                for (int p = 0; p < first; p++) ks += (double) kAll[p][kvh * HD + c] * kAll[p][kvh * HD + c];
                for (int h = kvh * GROUP; h < (kvh + 1) * GROUP; h++) {
                    for (int p = first - observe; p < first; p++) qs += (double) qAll[p][h * HD + c] * qAll[p][h * HD + c];
                }
                s[c] = Math.sqrt(ks) * Math.sqrt(qs);
            }
            Integer[] idx = new Integer[HD];
            for (int c = 0; c < HD; c++) idx[c] = c;
            Arrays.sort(idx, (a, b) -> Double.compare(s[b], s[a]));
            expected[kvh] = new int[]{idx[0], idx[1], idx[2], idx[3]};
            Arrays.sort(expected[kvh]);
            assertArrayEquals(expected[kvh], cache.keptChannels(0, kvh), "kept channels of kv head " + kvh);
        }
        for (int p = first; p < n; p++) {
            cache.beginChunk(p, 1);
            cache.write(0, p, kAll[p], 0, vAll[p], 0);
            for (int h = 0; h < HEADS; h++) check(cache, h, p, kAll, vAll, qAll, expected[h / GROUP]);
            cache.endChunk();
        }
        assertEquals(4, cache.keptChannels());
    }

    private static void check(ThinKKvCache cache, int h, int p, float[][] kAll, float[][] vAll, float[][] qAll, int[] kept) {
        int kvh = h / GROUP;
        List<float[]> keys = new ArrayList<>(), values = new ArrayList<>();
        for (int j = 0; j <= p; j++) {
            float[] k = Arrays.copyOfRange(kAll[j], kvh * HD, (kvh + 1) * HD);
            if (kept != null) {
                float[] pruned = new float[HD];
                for (int c : kept) pruned[c] = k[c];
                k = pruned;
            }
            keys.add(k);
            values.add(Arrays.copyOfRange(vAll[j], kvh * HD, (kvh + 1) * HD));
        }
        float[] out = new float[HD];
        cache.attend(0, h, qAll[p], h * HD, p, out, 0, 0);
        RefAttention.assertClose(RefAttention.attend(qAll[p], h * HD, HD, keys, values, SCALE), out, 0, 2e-5,
                "ThinK pos " + p + " head " + h);
    }
}
