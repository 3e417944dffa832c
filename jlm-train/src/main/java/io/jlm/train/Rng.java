package io.jlm.train;

/** A small deterministic generator (SplitMix64) whose whole state is one long, so checkpoints can save it. */
public final class Rng implements java.util.random.RandomGenerator {
    private long state;
    public Rng(long seed) { state = seed; }
    public long state() { return state; }
    public void setState(long s) { state = s; }
    @Override public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
    /** Uniform in [0, bound). */
    public int nextInt(int bound) { return (int) Math.floorMod(nextLong(), (long) bound); }
    public double nextDouble() { return (nextLong() >>> 11) * 0x1.0p-53; }
    /** Standard normal (Box-Muller, one value per call). */
    public double nextGaussian() {
        double u1 = nextDouble(), u2 = nextDouble();
        return Math.sqrt(-2.0 * Math.log(1.0 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
