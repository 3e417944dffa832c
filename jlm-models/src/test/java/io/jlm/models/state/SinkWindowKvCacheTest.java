package io.jlm.models.state;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Sink + window attention against references written from the definitions: StreamingLLM assigns positions by place
 * in the cache (keys re-rotated to their slot, the query to the last slot); LM-Infinite caps every distance.
 */
class SinkWindowKvCacheTest {
    static final int HEADS = 4, KV = 2, HD = 8;
    static final double[] FREQ = RefAttention.invFreq(HD, 10000);
    static final float SCALE = (float) (1 / Math.sqrt(HD));

    static AttentionGeometry geometry(int threads) {
        return new AttentionGeometry(HEADS, KV, HD, SCALE, 0f, null, threads, new AttentionGeometry.Rope(HD, FREQ, false));
    }

    @Test
    void streamingMatchesCachePositionReference() {
        run(SinkWindowKvCache.Mode.STREAMING, 2, 5, 0);
        run(SinkWindowKvCache.Mode.STREAMING, 0, 6, 0);
    }

    @Test
    void lmInfiniteMatchesDistanceCapReference() {
        run(SinkWindowKvCache.Mode.LM_INFINITE, 3, 5, 7);
    }

    private void run(SinkWindowKvCache.Mode mode, int sinks, int window, int cap) {
        int n = 60, chunk = 3;
        SinkWindowKvCache cache = new SinkWindowKvCache(1, 1000, KV, HD, sinks, window, mode, cap, chunk);
        cache.configure(geometry(1));
        long bytes0 = cache.bytes();
        Random r = new Random(11);
        float[][] kRaw = new float[n][], vAll = new float[n][];
        int[] sizes = {3, 1, 2, 3, 1, 1, 3, 2};
        for (int pos = 0, c = 0; pos < n; c++) {
            int b = Math.min(sizes[c % sizes.length], n - pos);
            cache.beginChunk(pos, b);
            float[][] qRaw = new float[b][];
            for (int i = 0; i < b; i++) {
                int p = pos + i;
                kRaw[p] = RefAttention.random(r, KV * HD);
                vAll[p] = RefAttention.random(r, KV * HD);
                float[] kRot = new float[KV * HD];
                for (int h = 0; h < KV; h++) System.arraycopy(RefAttention.rope(kRaw[p], h * HD, HD, p, FREQ), 0, kRot, h * HD, HD);
                cache.write(0, p, kRot, 0, vAll[p], 0);
                qRaw[i] = RefAttention.random(r, HEADS * HD);
            }
            for (int i = 0; i < b; i++) {
                int p = pos + i;
                for (int h = 0; h < HEADS; h++) {
                    int kvh = h / (HEADS / KV);
                    float[] qRot = RefAttention.rope(qRaw[i], h * HD, HD, p, FREQ);
                    float[] out = new float[HD];
                    cache.attend(0, h, qRot, 0, p, out, 0, 0);
                    // retained set in cache order: sinks, then the window
                    List<Integer> kept = new ArrayList<>();
                    for (int s = 0; s < Math.min(sinks, p + 1); s++) kept.add(s);
                    for (int s = Math.max(sinks, p - window + 1); s <= p; s++) kept.add(s);
                    List<float[]> keys = new ArrayList<>(), values = new ArrayList<>();
                    float[] q;
                    if (mode == SinkWindowKvCache.Mode.STREAMING) {
                        int last = kept.size() - 1;
                        q = RefAttention.rope(qRaw[i], h * HD, HD, last, FREQ);
                        for (int j = 0; j < kept.size(); j++) {
                            keys.add(RefAttention.rope(kRaw[kept.get(j)], kvh * HD, HD, j, FREQ));
                            values.add(java.util.Arrays.copyOfRange(vAll[kept.get(j)], kvh * HD, (kvh + 1) * HD));
                        }
                    } else {
                        // distance min(p - k, cap): key at 0, query at that distance
                        q = null;
                        for (int k : kept) {
                            values.add(java.util.Arrays.copyOfRange(vAll[k], kvh * HD, (kvh + 1) * HD));
                        }
                        double[] s = new double[kept.size()];
                        for (int j = 0; j < kept.size(); j++) {
                            int d = Math.min(p - kept.get(j), cap);
                            float[] qd = RefAttention.rope(qRaw[i], h * HD, HD, d, FREQ);
                            float[] kd = RefAttention.rope(kRaw[kept.get(j)], kvh * HD, HD, 0, FREQ);
                            // fold the per-key query into the key so that one shared query (all ones) works
                            float[] folded = new float[HD];
                            for (int x = 0; x < HD; x++) folded[x] = qd[x] * kd[x];
                            keys.add(folded);
                        }
                        q = new float[HD];
                        java.util.Arrays.fill(q, 1f);
                    }
                    RefAttention.assertClose(RefAttention.attend(q, 0, HD, keys, values, SCALE), out, 0, 2e-5,
                            mode + " pos " + p + " head " + h);
                }
            }
            cache.endChunk();
            pos += b;
        }
        assertEquals(bytes0, cache.bytes(), "memory is flat");
        assertEquals(2L * KV * (sinks + window + chunk) * HD * 4, cache.bytes());
    }

    @Test
    void rewindOnlyWithinTheWindow() {
        SinkWindowKvCache cache = new SinkWindowKvCache(1, 100, KV, HD, 1, 4, SinkWindowKvCache.Mode.STREAMING, 0, 2);
        float[] z = new float[KV * HD];
        for (int p = 0; p < 20; p++) cache.write(0, p, z, 0, z, 0);
        cache.truncate(19);
        assertEquals(19, cache.length());
        assertThrows(UnsupportedOperationException.class, () -> cache.truncate(10));
    }
}
