package io.jlm.core.parallel;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed pool of worker threads for data-parallel loops in hot paths: {@code threads - 1} persistent daemon
 * workers plus the calling thread, which runs chunk 0. {@link #parallelFor} allocates nothing; after a call
 * the workers spin (with {@link Thread#onSpinWait()}) for a short while before parking, so back-to-back calls
 * (one per matrix in a forward pass) do not pay the park/unpark latency.
 *
 * <p>One {@code parallelFor} runs at a time per pool: calls from different threads are serialized (they wait
 * for each other); a nested call from inside a body of the same pool throws {@link IllegalStateException}
 * (it would deadlock). Exceptions thrown by a body are rethrown in the caller after all chunks finished
 * (the first one; others are added as suppressed).
 *
 * <p>The pool also keeps one scratch {@code float[]} per thread index ({@link #scratch}), so kernels can reuse
 * buffers across calls without allocating.
 */
public final class ThreadPool implements AutoCloseable {

    /** A loop body over the half-open range [from, to), run by thread {@code thread} of {@link #threads()}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to, int thread);
    }

    /** Default time workers spin waiting for the next call before they park. */
    public static final long DEFAULT_SPIN_NANOS = 100_000;

    private static final Map<Integer, ThreadPool> SHARED = new HashMap<>();

    private final int threads;
    private final long spinNanos;
    private final Worker[] workers;
    private final ReentrantLock callLock = new ReentrantLock();
    private final float[][] scratch;

    // state of the current call; written by the caller before the volatile write of 'epoch'
    private RangeBody body;
    private int n;
    private volatile int epoch;
    private volatile boolean closed;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicReference<Throwable> error = new AtomicReference<>();
    private volatile Thread waiter;
    private volatile Thread running; // the caller thread of the current call (nested-call detection)

    /** A pool of {@code threads} threads in total (the caller counts as one). */
    public ThreadPool(int threads) {
        this(threads, DEFAULT_SPIN_NANOS);
    }

    /** As {@link #ThreadPool(int)}, with the time idle workers (and a waiting caller) spin before parking. */
    public ThreadPool(int threads, long spinNanos) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (spinNanos < 0) throw new IllegalArgumentException("spinNanos must be >= 0, got " + spinNanos);
        this.threads = threads;
        this.spinNanos = spinNanos;
        this.scratch = new float[threads][];
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].start();
        }
    }

    /**
     * A process-wide pool with the given number of threads, created on first use and never closed
     * (its workers are daemon threads). Callers from different threads share it and are serialized.
     */
    public static ThreadPool shared(int threads) {
        synchronized (SHARED) {
            return SHARED.computeIfAbsent(threads, ThreadPool::new);
        }
    }

    /** A shared pool with one thread per available processor. */
    public static ThreadPool shared() {
        return shared(Runtime.getRuntime().availableProcessors());
    }

    public int threads() { return threads; }

    /**
     * A scratch array for thread index {@code thread} of at least {@code minLength} floats, reused across calls
     * (grown when too small). Only valid inside a body running as that thread index (or on the caller
     * thread outside parallelFor for index 0); contents are undefined.
     */
    public float[] scratch(int thread, int minLength) {
        float[] s = scratch[thread];
        if (s == null || s.length < minLength) {
            s = new float[minLength];
            scratch[thread] = s;
        }
        return s;
    }

    /**
     * Splits [0,n) into contiguous chunks, one per thread (thread t gets [n*t/T, n*(t+1)/T)), runs them and
     * returns when all are done. Empty chunks are not run. Rethrows the first exception of any body.
     */
    public void parallelFor(int n, RangeBody body) {
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        if (closed) throw new IllegalStateException("ThreadPool is closed");
        Thread me = Thread.currentThread();
        if (running == me || (me instanceof Worker w && w.pool() == this)) {
            throw new IllegalStateException("nested parallelFor on the same ThreadPool (would deadlock)");
        }
        if (threads == 1 || n <= 1) {
            callLock.lock();
            try {
                running = me;
                if (n > 0) body.run(0, n, 0);
            } finally {
                running = null;
                callLock.unlock();
            }
            return;
        }
        callLock.lock();
        try {
            if (closed) throw new IllegalStateException("ThreadPool is closed");
            running = me;
            this.body = body;
            this.n = n;
            pending.set(workers.length);
            epoch = epoch + 1; // publishes body/n (only the lock holder writes epoch)
            for (Worker w : workers) {
                if (w.parked) LockSupport.unpark(w);
            }
            Throwable mine = null;
            try {
                int to = (int) ((long) n / threads);
                if (to > 0) body.run(0, to, 0);
            } catch (Throwable t) {
                mine = t;
            }
            awaitWorkers();
            this.body = null;
            Throwable other = error.getAndSet(null);
            if (mine != null || other != null) {
                Throwable first = mine != null ? mine : other;
                if (mine != null && other != null && other != mine) first.addSuppressed(other);
                if (first instanceof RuntimeException re) throw re;
                if (first instanceof Error e) throw e;
                throw new RuntimeException(first);
            }
        } finally {
            running = null;
            callLock.unlock();
        }
    }

    private void awaitWorkers() {
        if (pending.get() == 0) return;
        long start = System.nanoTime();
        int spins = 0;
        while (pending.get() != 0) {
            Thread.onSpinWait();
            if ((++spins & 255) == 0 && System.nanoTime() - start > spinNanos) {
                waiter = Thread.currentThread();
                while (pending.get() != 0) LockSupport.park(this);
                waiter = null;
                return;
            }
        }
    }

    /** Stops the workers (they finish a running call first). Idempotent; later parallelFor calls throw. */
    @Override public void close() {
        if (closed) return;
        callLock.lock();
        try {
            closed = true;
            epoch = epoch + 1;
        } finally {
            callLock.unlock();
        }
        for (Worker w : workers) LockSupport.unpark(w);
        for (Worker w : workers) {
            try {
                w.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private final class Worker extends Thread {
        final int index;
        volatile boolean parked;

        Worker(int index) {
            super("jlm-pool-" + threads + "-" + index);
            this.index = index;
            setDaemon(true);
        }

        ThreadPool pool() { return ThreadPool.this; }

        @Override public void run() {
            int seen = epoch;
            while (true) {
                // wait for the next epoch: spin, then park
                long start = System.nanoTime();
                int spins = 0;
                int e;
                while ((e = epoch) == seen) {
                    Thread.onSpinWait();
                    if ((++spins & 255) == 0 && System.nanoTime() - start > spinNanos) {
                        parked = true;
                        while ((e = epoch) == seen) LockSupport.park(this);
                        parked = false;
                        break;
                    }
                }
                seen = e;
                if (closed) return;
                RangeBody b = body;
                int total = n;
                try {
                    int from = (int) ((long) total * index / threads);
                    int to = (int) ((long) total * (index + 1) / threads);
                    if (to > from) b.run(from, to, index);
                } catch (Throwable t) {
                    if (!error.compareAndSet(null, t)) {
                        Throwable first = error.get();
                        if (first != t) first.addSuppressed(t);
                    }
                } finally {
                    if (pending.decrementAndGet() == 0) {
                        Thread w = waiter;
                        if (w != null) LockSupport.unpark(w);
                    }
                }
            }
        }
    }
}
