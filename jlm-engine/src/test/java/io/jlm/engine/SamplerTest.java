package io.jlm.engine;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {

    private static final SamplerConfig PLAIN = new SamplerConfig(1f, 0, 1f, 0f, 1f, 64, 0f, 0f, 42);

    /** Reference: softmax of logits / t. */
    private static double[] softmax(float[] logits, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double[] p = new double[logits.length];
        double s = 0;
        for (int i = 0; i < p.length; i++) { p[i] = Math.exp((logits[i] - max) / t); s += p[i]; }
        for (int i = 0; i < p.length; i++) p[i] /= s;
        return p;
    }

    private static Map<Integer, Float> dist(Sampler s, float[] logits) {
        int n = s.distribution(logits, 0);
        Map<Integer, Float> m = new HashMap<>();
        for (int i = 0; i < n; i++) m.put(s.candidateToken(i), s.candidateProbability(i));
        return m;
    }

    @Test
    void greedyPicksArgmaxFirstOnTies() {
        Sampler s = new Sampler(SamplerConfig.greedy(), 6);
        assertEquals(3, s.sample(new float[]{0.1f, -2f, 1f, 5f, 4.9f, 5f}));
        assertEquals(0, s.sample(new float[]{1f, 1f, 1f, 1f, 1f, 1f}));
        assertEquals(5, s.sample(new float[]{-9, -8, -7, -6, -5, -4}));
    }

    @Test
    void topK1IsGreedyAtAnyTemperature() {
        SplittableRandom r = new SplittableRandom(7);
        float[] l = new float[1000];
        for (int trial = 0; trial < 20; trial++) {
            for (int i = 0; i < l.length; i++) l[i] = (float) r.nextGaussian() * 3;
            int expected = new Sampler(SamplerConfig.greedy(), l.length).sample(l);
            Sampler s = new Sampler(PLAIN.withTemperature(5f).withTopK(1).withSeed(trial), l.length);
            for (int k = 0; k < 5; k++) assertEquals(expected, s.sample(l));
        }
    }

    @Test
    void topKKeepsTheKLargestWithRenormalizedProbabilities() {
        SplittableRandom r = new SplittableRandom(3);
        float[] l = new float[5000];
        for (int i = 0; i < l.length; i++) l[i] = (float) r.nextGaussian();
        int k = 37;
        Sampler s = new Sampler(PLAIN.withTopK(k), l.length);
        Map<Integer, Float> d = dist(s, l);
        assertEquals(k, d.size());
        Integer[] order = new Integer[l.length];
        for (int i = 0; i < l.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(l[b], l[a]));
        double sum = 0;
        for (int i = 0; i < k; i++) sum += Math.exp(l[order[i]]);
        for (int i = 0; i < k; i++) {
            int t = order[i];
            assertTrue(d.containsKey(t), "top-k must keep token " + t);
            assertEquals(Math.exp(l[t]) / sum, d.get(t), 1e-5);
        }
        // the candidates come out sorted descending
        for (int i = 1; i < k; i++) assertTrue(l[s.candidateToken(i - 1)] >= l[s.candidateToken(i)]);
    }

    @Test
    void topPKeepsTheMinimalNucleus() {
        // probabilities proportional to 0.5, 0.25, 0.125, 0.0625, 0.0625
        float[] l = {(float) Math.log(0.0625), (float) Math.log(0.5), (float) Math.log(0.125), (float) Math.log(0.25), (float) Math.log(0.0625)};
        // p = 0.7: 0.5 < 0.7, 0.75 >= 0.7 -> {1, 3}
        Map<Integer, Float> d = dist(new Sampler(PLAIN.withTopP(0.7f), 5), l);
        assertEquals(Map.of(1, 2f / 3, 3, 1f / 3).keySet(), d.keySet());
        assertEquals(2.0 / 3, d.get(1), 1e-6);
        assertEquals(1.0 / 3, d.get(3), 1e-6);
        // p = 0.5: the first token alone reaches it
        assertEquals(Map.of(1, 1f), dist(new Sampler(PLAIN.withTopP(0.5f), 5), l));
        // p = 0.8: 0.875 needed -> three tokens
        assertEquals(3, dist(new Sampler(PLAIN.withTopP(0.8f), 5), l).size());
        // large vocabulary with a nucleus longer than the first sorted chunk
        float[] flat = new float[10000];
        Arrays.fill(flat, 0f);
        flat[17] = 1f;
        Map<Integer, Float> big = dist(new Sampler(PLAIN.withTopP(0.5f), flat.length), flat);
        // total = e + 9999; need cum >= 0.5 * total: e + (m-1) >= (e + 9999) / 2
        double total = Math.E + 9999;
        int m = 1;
        double cum = Math.E;
        while (cum < 0.5 * total) { cum += 1; m++; }
        assertEquals(m, big.size());
        assertTrue(big.containsKey(17));
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheTopProbability() {
        // probs ~ 0.4, 0.3, 0.2, 0.06, 0.04 ; min-p 0.15 -> threshold 0.06 -> keep 0.4, 0.3, 0.2, 0.06
        float[] l = {(float) Math.log(0.4), (float) Math.log(0.3), (float) Math.log(0.2), (float) Math.log(0.061), (float) Math.log(0.04)};
        Map<Integer, Float> d = dist(new Sampler(PLAIN.withMinP(0.15f), 5), l);
        assertEquals(java.util.Set.of(0, 1, 2, 3), d.keySet());
        double s = 0.4 + 0.3 + 0.2 + 0.061;
        assertEquals(0.4 / s, d.get(0), 1e-6);
        assertEquals(0.061 / s, d.get(3), 1e-6);
        d = dist(new Sampler(PLAIN.withMinP(0.6f), 5), l);
        assertEquals(java.util.Set.of(0, 1), d.keySet());
    }

    @Test
    void temperatureScalesTheDistribution() {
        float[] l = {1f, 2f, 0.5f, -1f};
        for (float t : new float[]{0.3f, 1f, 2.5f}) {
            Map<Integer, Float> d = dist(new Sampler(PLAIN.withTemperature(t), 4), l);
            double[] ref = softmax(l, t);
            for (int i = 0; i < 4; i++) assertEquals(ref[i], d.get(i), 1e-6);
        }
    }

    @Test
    void penaltiesChangeExactlyTheSeenTokens() {
        float[] l = {2f, -2f, 1f, -1f, 3f, 0.5f};
        // repeat penalty 2, presence 0.25, frequency 0.5; window {0, 1, 0, 3}, token 0 seen twice
        SamplerConfig c = new SamplerConfig(1f, 0, 1f, 0f, 2f, 64, 0.25f, 0.5f, 1);
        Sampler s = new Sampler(c, 6);
        for (int t : new int[]{0, 1, 0, 3}) s.accept(t);
        float[] expected = {
                2f / 2 - (2 * 0.5f + 0.25f),   // positive: divided; count 2
                -2f * 2 - (0.5f + 0.25f),      // negative: multiplied
                1f, 
                -1f * 2 - (0.5f + 0.25f),
                3f, 0.5f};
        Map<Integer, Float> d = dist(s, l);
        double[] ref = softmax(expected, 1);
        for (int i = 0; i < 6; i++) assertEquals(ref[i], d.get(i), 1e-6, "token " + i);
        // the input row is untouched
        assertArrayEquals(new float[]{2f, -2f, 1f, -1f, 3f, 0.5f}, l);
        // a second call gives the same result (counts were cleared)
        Map<Integer, Float> d2 = dist(s, l);
        assertEquals(d, d2);
    }

    @Test
    void penaltyWindowForgetsOldTokens() {
        SamplerConfig c = new SamplerConfig(0f, 0, 1f, 0f, 100f, 2, 0f, 0f, 1);
        Sampler s = new Sampler(c, 3);
        float[] l = {5f, 4f, 3f};
        s.accept(0);
        assertEquals(1, s.sample(l)); // token 0 penalized to 0.05
        s.accept(1);
        assertEquals(2, s.sample(l)); // both 0 and 1 penalized
        s.accept(2);                   // window now {1, 2}: 0 is free again
        assertEquals(0, s.sample(l));
    }

    @Test
    void greedyAppliesPenalties() {
        Sampler s = new Sampler(SamplerConfig.greedy().withRepeatPenalty(1.5f, 64), 3);
        s.accept(0);
        assertEquals(1, s.sample(new float[]{3f, 2.5f, 0f})); // 3 / 1.5 = 2 < 2.5
    }

    @Test
    void sameSeedSameSequence() {
        SplittableRandom r = new SplittableRandom(11);
        float[] l = new float[300];
        for (int i = 0; i < l.length; i++) l[i] = (float) r.nextGaussian();
        SamplerConfig c = SamplerConfig.defaults(1234).withTopK(100).withMinP(0.01f);
        int[] a = new int[200], b = new int[200], other = new int[200];
        Sampler sa = new Sampler(c, l.length), sb = new Sampler(c, l.length), so = new Sampler(c.withSeed(99), l.length);
        for (int i = 0; i < a.length; i++) { a[i] = sa.sample(l); b[i] = sb.sample(l); other[i] = so.sample(l); }
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, other));
    }

    @Test
    void empiricalFrequenciesMatchSoftmax() {
        float[] l = {0.3f, 1.2f, -0.5f, 2.0f, 0.0f, 1.0f, -3f, 0.7f};
        float t = 0.9f;
        Sampler s = new Sampler(PLAIN.withTemperature(t).withSeed(5), l.length);
        int draws = 200_000;
        int[] hist = new int[l.length];
        for (int i = 0; i < draws; i++) hist[s.sample(l)]++;
        double[] ref = softmax(l, t);
        for (int i = 0; i < l.length; i++) {
            double sd = Math.sqrt(ref[i] * (1 - ref[i]) / draws);
            assertEquals(ref[i], hist[i] / (double) draws, 5 * sd + 1e-4, "token " + i);
        }
    }

    @Test
    void empiricalFrequenciesWithTopK() {
        float[] l = {0.3f, 1.2f, -0.5f, 2.0f, 0.0f, 1.0f};
        Sampler s = new Sampler(PLAIN.withTopK(3).withSeed(8), l.length);
        int draws = 100_000;
        int[] hist = new int[l.length];
        for (int i = 0; i < draws; i++) hist[s.sample(l)]++;
        double[] ref = softmax(new float[]{2.0f, 1.2f, 1.0f}, 1);
        assertEquals(0, hist[0] + hist[2] + hist[4]);
        assertEquals(ref[0], hist[3] / (double) draws, 0.01);
        assertEquals(ref[1], hist[1] / (double) draws, 0.01);
        assertEquals(ref[2], hist[5] / (double) draws, 0.01);
    }

    @Test
    void sampleReadsTheRowAtTheOffset() {
        float[] rows = {9f, 0f, 0f, 0f, 0f, 7f};
        assertEquals(2, new Sampler(SamplerConfig.greedy(), 3).sample(rows, 3));
    }
}
