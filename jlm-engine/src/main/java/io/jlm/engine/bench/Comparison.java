package io.jlm.engine.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * jlm vs llama.cpp over several rounds: per round and test (name and thread count) the two tokens/s and
 * their ratio; the summary is the median over rounds of each. Measuring both in alternation and comparing
 * ratios keeps the comparison meaningful on a noisy, shared machine.
 */
public final class Comparison {

    /** A test identity: {@code pp512}/{@code tg128} at a thread count. */
    public record Key(String test, int threads) {}

    /** One round's measurement of one test. */
    public record Sample(Key key, double jlm, double llama) {
        public double ratio() { return jlm / llama; }
    }

    /** The per-test summary over all rounds. */
    public record Summary(Key key, int rounds, double medianJlm, double medianLlama, double medianRatio,
                          double minRatio, double maxRatio) {}

    private final List<List<Sample>> rounds = new ArrayList<>();

    /**
     * Pairs one round's results by test name and thread count and records them; returns the pairs.
     * A test present on only one side is an error (both were asked for the same tests).
     */
    public List<Sample> addRound(Map<Key, Double> jlm, List<LlamaBench.Entry> llama) {
        Map<Key, Double> ll = new LinkedHashMap<>();
        for (LlamaBench.Entry e : llama) ll.put(new Key(e.name(), e.threads()), e.avgTs());
        List<Sample> round = new ArrayList<>();
        for (Map.Entry<Key, Double> e : jlm.entrySet()) {
            Double l = ll.get(e.getKey());
            if (l == null) {
                throw new IllegalStateException("llama-bench reported no result for " + e.getKey().test() + " with "
                        + e.getKey().threads() + " thread(s); it reported " + ll.keySet());
            }
            round.add(new Sample(e.getKey(), e.getValue(), l));
        }
        rounds.add(round);
        return round;
    }

    public int rounds() { return rounds.size(); }

    /** Median tokens/s and median ratio per test, in the order of the first round. */
    public List<Summary> summary() {
        if (rounds.isEmpty()) return List.of();
        List<Summary> out = new ArrayList<>();
        for (Sample first : rounds.getFirst()) {
            Key k = first.key();
            double[] j = new double[rounds.size()], l = new double[rounds.size()], r = new double[rounds.size()];
            int n = 0;
            for (List<Sample> round : rounds) {
                for (Sample s : round) {
                    if (s.key().equals(k)) {
                        j[n] = s.jlm();
                        l[n] = s.llama();
                        r[n] = s.ratio();
                        n++;
                    }
                }
            }
            j = Arrays.copyOf(j, n);
            l = Arrays.copyOf(l, n);
            r = Arrays.copyOf(r, n);
            out.add(new Summary(k, n, median(j), median(l), median(r), Arrays.stream(r).min().orElse(Double.NaN),
                    Arrays.stream(r).max().orElse(Double.NaN)));
        }
        return out;
    }

    /** The median (mean of the two middle values for an even count). */
    public static double median(double[] v) {
        if (v.length == 0) throw new IllegalArgumentException("median of no values");
        double[] s = v.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
}
