package io.jlm.core.parallel;

/**
 * A fixed pool of worker threads for data-parallel loops in hot paths: no allocation per call,
 * the calling thread takes part. (Stub: to be implemented.)
 */
public final class ThreadPool implements AutoCloseable {

    /** A loop body over the half-open range [from, to), run by thread {@code thread} of {@link #threads()}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to, int thread);
    }

    private final int threads;

    public ThreadPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
    }

    public int threads() { return threads; }

    /** Splits [0,n) into contiguous chunks, one per thread, and runs them; returns when all are done. */
    public void parallelFor(int n, RangeBody body) {
        body.run(0, n, 0);
    }

    @Override public void close() {}
}
