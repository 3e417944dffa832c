package io.jlm.train;

/**
 * In-place iterative radix-2 complex FFT of one power-of-two size, with precomputed twiddles and bit reversal.
 * Used for the long causal convolutions of S4D/H3 layers (kernel as long as the sequence).
 */
public final class Fft {
    public final int n;
    private final double[] cos, sin;
    private final int[] rev;

    public Fft(int n) {
        if (n < 1 || Integer.bitCount(n) != 1) throw new IllegalArgumentException("FFT size " + n + " is not a power of two");
        this.n = n;
        cos = new double[n / 2 + 1]; sin = new double[n / 2 + 1];
        for (int i = 0; i < n / 2; i++) { double a = -2 * Math.PI * i / n; cos[i] = Math.cos(a); sin[i] = Math.sin(a); }
        rev = new int[n];
        int bits = Integer.numberOfTrailingZeros(n);
        for (int i = 0; i < n; i++) rev[i] = bits == 0 ? 0 : Integer.reverse(i) >>> (32 - bits);
    }

    /** The smallest power of two {@code >= m}. */
    public static int size(int m) { return m <= 1 ? 1 : Integer.highestOneBit(m - 1) << 1; }

    /** Forward transform ({@code inverse = false}) or unscaled inverse of {@code (re, im)}. */
    public void transform(double[] re, double[] im, boolean inverse) {
        for (int i = 0; i < n; i++) {
            int j = rev[i];
            if (j > i) {
                double t = re[i]; re[i] = re[j]; re[j] = t;
                t = im[i]; im[i] = im[j]; im[j] = t;
            }
        }
        double sign = inverse ? -1 : 1;
        for (int len = 2; len <= n; len <<= 1) {
            int half = len >> 1, step = n / len;
            for (int i = 0; i < n; i += len) {
                for (int k = 0; k < half; k++) {
                    double wr = cos[k * step], wi = sign * sin[k * step];
                    int a = i + k, b = a + half;
                    double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - xr; im[b] = im[a] - xi;
                    re[a] += xr; im[a] += xi;
                }
            }
        }
    }
}
