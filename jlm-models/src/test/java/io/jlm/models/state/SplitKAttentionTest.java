package io.jlm.models.state;

import io.jlm.core.tensor.GGMLType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Split-K partial softmax + merge equals the single pass, and both equal a float64 reference. */
class SplitKAttentionTest {

    @Test
    void mergedSplitsEqualSinglePass() {
        int hd = 64, n = 3000, heads = 2;
        Random r = new Random(3);
        for (GGMLType type : new GGMLType[]{GGMLType.F32, GGMLType.Q8_0}) {
            KvCache cache = type == GGMLType.F32 ? new ContiguousKvCache(type, 1, n, heads, hd)
                    : new QuantizedKvCache(type, 1, n, heads, hd);
            List<float[]> keys = new ArrayList<>(), values = new ArrayList<>();
            for (int p = 0; p < n; p++) {
                float[] k = RefAttention.random(r, heads * hd), v = RefAttention.random(r, heads * hd);
                for (int i = 0; i < k.length; i++) k[i] *= 2.5f; // peaked softmax: max subtraction matters
                cache.write(0, p, k, 0, v, 0);
                keys.add(java.util.Arrays.copyOfRange(k, hd, 2 * hd));
                values.add(java.util.Arrays.copyOfRange(v, hd, 2 * hd));
            }
            float[] q = RefAttention.random(r, hd);
            float scale = 0.125f;
            float[] sc = new float[n], single = new float[hd];
            SplitKAttention.singlePass(cache, 0, 1, q, 0, 0, n, scale, 0f, sc, single, 0);
            if (type == GGMLType.F32) {
                RefAttention.assertClose(RefAttention.attend(q, 0, hd, keys, values, scale), single, 0, 1e-5, "single vs f64");
            }
            for (int splits : new int[]{2, 3, 7}) {
                SplitKAttention sk = new SplitKAttention(hd);
                sk.reserve(splits);
                for (int s = 0; s < splits; s++) {
                    sk.partial(s, cache, 0, 1, q, 0, SplitKAttention.splitStart(0, n, s, splits),
                            SplitKAttention.splitStart(0, n, s + 1, splits), scale, 0f, sc);
                }
                float[] merged = new float[hd];
                sk.merge(0, splits, merged, 0);
                // float32 sums of 3000 terms differ by rounding in the last bits (the single pass itself is ~1.6e-6
                // from float64 relative to the output norm): the output is a convex combination of the values, so the
                // difference is measured relative to the value range max |v|; the split result must also be at least
                // as close to float64 as the single pass (up to 10 %)
                double[] ref = RefAttention.attend(q, 0, hd, keys, values, scale);
                double worst = 0, es = 0, em = 0, nr = 0, vmax = 0;
                for (float[] v : values) for (float x : v) vmax = Math.max(vmax, Math.abs(x));
                for (int i = 0; i < hd; i++) {
                    worst = Math.max(worst, Math.abs(single[i] - merged[i]) / vmax);
                    es += Math.pow(single[i] - ref[i], 2);
                    em += Math.pow(merged[i] - ref[i], 2);
                    nr += ref[i] * ref[i];
                }
                System.out.println(type + " splits=" + splits + ": max |split - single| / max|v| = " + worst
                        + ", single-vs-f64 " + Math.sqrt(es / nr) + ", split-vs-f64 " + Math.sqrt(em / nr));
                assertTrue(worst <= 1e-6, type + " splits=" + splits + ": relative difference " + worst);
                if (type == GGMLType.F32) {
                    assertTrue(Math.sqrt(em / nr) <= 1.1 * Math.sqrt(es / nr) + 1e-7, "split no less accurate than single");
                }
            }
        }
    }

    @Test
    void splitCounts() {
        assertEquals(1, SplitKAttention.splits(32, 2, 32768), "heads divide over the threads");
        assertEquals(8, SplitKAttention.splits(1, 2, 32768), "about four pieces per thread");
        assertEquals(3, SplitKAttention.splits(3, 2, 4096));
        assertEquals(2, SplitKAttention.splits(3, 2, 1100), "pieces keep >= 512 positions");
        assertEquals(1, SplitKAttention.splits(1, 2, 600), "too short to split");
        assertEquals(1, SplitKAttention.splits(1, 1, 32768));
        assertEquals(2, SplitKAttention.splits(8, 3, 1600));
        SplitKAttention sk = new SplitKAttention(8);
        sk.resetClaims();
        assertEquals(0, sk.claim());
        assertEquals(1, sk.claim());
        sk.resetClaims();
        assertEquals(0, sk.claim());
    }
}
