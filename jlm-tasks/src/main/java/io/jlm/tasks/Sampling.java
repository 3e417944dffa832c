package io.jlm.tasks;

import java.util.random.RandomGenerator;

/** Small sampling helpers shared by the generators. */
final class Sampling {
    private Sampling() {}

    /** {@code k} distinct values from {@code [0, n)} in random order (partial Fisher-Yates). */
    static int[] distinct(RandomGenerator rnd, int n, int k) {
        if (k > n) throw new IllegalArgumentException("cannot draw " + k + " distinct values from " + n);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        for (int i = 0; i < k; i++) {
            int j = i + rnd.nextInt(n - i);
            int t = a[i]; a[i] = a[j]; a[j] = t;
        }
        return java.util.Arrays.copyOf(a, k);
    }

    /** {@code k} distinct sorted values from {@code [0, n)}. */
    static int[] sortedDistinct(RandomGenerator rnd, int n, int k) {
        int[] a = distinct(rnd, n, k);
        java.util.Arrays.sort(a);
        return a;
    }

    static void require(boolean ok, String task, String message) {
        if (!ok) throw new IllegalArgumentException(task + ": " + message);
    }
}
