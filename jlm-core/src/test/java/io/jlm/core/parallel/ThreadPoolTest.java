package io.jlm.core.parallel;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

@org.junit.jupiter.api.Timeout(60)
class ThreadPoolTest {

    @Test
    void coversEveryIndexExactlyOnceWithContiguousChunks() {
        for (int threads : new int[]{1, 2, 3, 5}) {
            try (ThreadPool pool = new ThreadPool(threads)) {
                for (int n : new int[]{0, 1, 2, 3, 4, 7, 100, 1001}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
                    AtomicIntegerArray byThread = new AtomicIntegerArray(threads);
                    pool.parallelFor(n, (from, to, t) -> {
                        assertTrue(from < to, "empty chunks are not run");
                        if (n <= 1 || threads == 1) {
                            assertEquals(0, t, "small ranges run on the caller");
                        } else {
                            assertEquals((int) ((long) n * t / threads), from, "chunk start of thread " + t);
                            assertEquals((int) ((long) n * (t + 1) / threads), to, "chunk end of thread " + t);
                        }
                        assertEquals(0, byThread.getAndIncrement(t), "one chunk per thread");
                        for (int i = from; i < to; i++) hits.incrementAndGet(i);
                    });
                    for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "threads=" + threads + " n=" + n + " i=" + i);
                }
            }
        }
    }

    @Test
    void usesDistinctThreads() {
        try (ThreadPool pool = new ThreadPool(3)) {
            Thread[] seen = new Thread[3];
            pool.parallelFor(3, (from, to, t) -> seen[t] = Thread.currentThread());
            assertSame(Thread.currentThread(), seen[0]);
            assertNotSame(seen[0], seen[1]);
            assertNotSame(seen[1], seen[2]);
            assertTrue(seen[1].isDaemon());
        }
    }

    @Test
    void exceptionsPropagateToCaller() {
        try (ThreadPool pool = new ThreadPool(2)) {
            // thrown in a worker (thread 1)
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.parallelFor(10, (f, t, th) -> {
                if (th == 1) throw new IllegalStateException("boom in worker");
            }));
            assertEquals("boom in worker", e.getMessage());
            // thrown in the caller (thread 0)
            assertThrows(ArithmeticException.class, () -> pool.parallelFor(10, (f, t, th) -> {
                if (th == 0) throw new ArithmeticException("boom in caller");
            }));
            // both: the caller's is rethrown, the worker's is suppressed
            RuntimeException both = assertThrows(RuntimeException.class, () -> pool.parallelFor(10, (f, t, th) -> {
                throw new RuntimeException("t" + th);
            }));
            assertEquals("t0", both.getMessage());
            assertEquals(1, both.getSuppressed().length);
            // checked-free Error passes through too
            assertThrows(AssertionError.class, () -> pool.parallelFor(10, (f, t, th) -> {
                if (th == 1) throw new AssertionError("err");
            }));
            // the pool still works afterwards
            AtomicInteger sum = new AtomicInteger();
            pool.parallelFor(100, (f, t, th) -> { for (int i = f; i < t; i++) sum.addAndGet(i); });
            assertEquals(4950, sum.get());
        }
    }

    @Test
    void manyBackToBackCalls() {
        try (ThreadPool pool = new ThreadPool(2)) {
            long[] acc = new long[2];
            for (int it = 0; it < 5_000; it++) {
                int n = 1 + (it % 17);
                pool.parallelFor(n, (f, t, th) -> {
                    long s = 0;
                    for (int i = f; i < t; i++) s += i + 1;
                    acc[th] += s;
                });
            }
            long expect = 0;
            for (int it = 0; it < 5_000; it++) {
                int n = 1 + (it % 17);
                expect += (long) n * (n + 1) / 2;
            }
            assertEquals(expect, acc[0] + acc[1]);
        }
    }

    @Test
    void callsAfterWorkersParked() throws Exception {
        try (ThreadPool pool = new ThreadPool(2, 1000)) {  // 1 us spin: workers park almost at once
            for (int it = 0; it < 50; it++) {
                AtomicInteger c = new AtomicInteger();
                pool.parallelFor(2, (f, t, th) -> c.incrementAndGet());
                assertEquals(2, c.get());
                if (it % 10 == 0) Thread.sleep(2);
            }
        }
    }

    @Test
    void nestedCallThrows() {
        try (ThreadPool pool = new ThreadPool(2)) {
            assertThrows(IllegalStateException.class, () -> pool.parallelFor(2, (f, t, th) -> {
                if (th == 0) pool.parallelFor(2, (a, b, c) -> {});
            }));
            assertThrows(IllegalStateException.class, () -> pool.parallelFor(2, (f, t, th) -> {
                if (th == 1) pool.parallelFor(2, (a, b, c) -> {});
            }));
        }
    }

    @Test
    void concurrentCallersAreSerialized() throws Exception {
        try (ThreadPool pool = new ThreadPool(2)) {
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger maxInside = new AtomicInteger();
            AtomicInteger total = new AtomicInteger();
            int callers = 3, calls = 300;
            CountDownLatch done = new CountDownLatch(callers);
            Throwable[] failure = new Throwable[1];
            for (int c = 0; c < callers; c++) {
                Thread th = new Thread(() -> {
                    try {
                        for (int i = 0; i < calls; i++) {
                            pool.parallelFor(2, (f, t, idx) -> {
                                int now = inside.incrementAndGet();
                                maxInside.accumulateAndGet(now, Math::max);
                                total.incrementAndGet();
                                inside.decrementAndGet();
                            });
                        }
                    } catch (Throwable t) {
                        failure[0] = t;
                    } finally {
                        done.countDown();
                    }
                });
                th.start();
            }
            done.await();
            assertNull(failure[0]);
            assertEquals(callers * calls * 2, total.get());
            assertTrue(maxInside.get() <= 2, "at most one call (2 chunks) at a time, saw " + maxInside.get());
        }
    }

    @Test
    void closeStopsWorkersAndRejectsCalls() throws Exception {
        ThreadPool pool = new ThreadPool(3);
        Thread[] seen = new Thread[3];
        pool.parallelFor(3, (f, t, th) -> seen[th] = Thread.currentThread());
        pool.close();
        seen[1].join(2000);
        seen[2].join(2000);
        assertFalse(seen[1].isAlive());
        assertFalse(seen[2].isAlive());
        assertThrows(IllegalStateException.class, () -> pool.parallelFor(3, (f, t, th) -> {}));
        pool.close(); // idempotent
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new ThreadPool(0));
        try (ThreadPool pool = new ThreadPool(1)) {
            assertThrows(IllegalArgumentException.class, () -> pool.parallelFor(-1, (f, t, th) -> {}));
        }
    }

    @Test
    void sharedPoolIsCached() {
        assertSame(ThreadPool.shared(2), ThreadPool.shared(2));
        assertEquals(2, ThreadPool.shared(2).threads());
    }

    @Test
    void scratchIsReusedPerThread() {
        try (ThreadPool pool = new ThreadPool(2)) {
            float[] a = pool.scratch(1, 10);
            assertSame(a, pool.scratch(1, 5));
            assertNotSame(a, pool.scratch(1, 11));
            assertTrue(pool.scratch(1, 11).length >= 11);
            assertNotSame(pool.scratch(0, 4), pool.scratch(1, 4));
        }
    }
}
