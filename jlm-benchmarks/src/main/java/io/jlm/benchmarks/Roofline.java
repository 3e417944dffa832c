package io.jlm.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;

/**
 * Roofline probe: memory read bandwidth (streaming float sum over a 1 GiB off-heap segment with the Vector
 * API) and peak FP32 FMA throughput (register-resident independent FMA chains), each with 1 and 2 threads.
 * Prints the best of several passes. Usage:
 * <pre>java --add-modules jdk.incubator.vector -cp 'jlm-benchmarks/target/classes:jlm-benchmarks/target/lib/*' \
 *     io.jlm.benchmarks.Roofline [maxThreads] [GiB]</pre>
 */
public final class Roofline {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static volatile float sink;

    public static void main(String[] args) throws Exception {
        int maxThreads = args.length > 0 ? Integer.parseInt(args[0]) : Math.min(2, Runtime.getRuntime().availableProcessors());
        double gib = args.length > 1 ? Double.parseDouble(args[1]) : 1.0;
        long bytes = ((long) (gib * (1L << 30))) & ~4095L;
        System.out.printf(Locale.ROOT, "vector species: %s (%d-bit), cpus: %d%n", F, F.vectorBitSize(), Runtime.getRuntime().availableProcessors());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(bytes, 4096);
            seg.fill((byte) 1); // touch every page so the first pass doesn't measure page faults
            for (int t = 1; t <= maxThreads; t++) {
                double best = 0;
                for (int pass = 0; pass < 7; pass++) best = Math.max(best, bandwidth(seg, t));
                System.out.printf(Locale.ROOT, "read bandwidth  %d thread(s): %6.2f GB/s  (streaming sum over %.2f GiB, best of 7)%n",
                        t, best / 1e9, bytes / (double) (1L << 30));
            }
        }
        for (int t = 1; t <= maxThreads; t++) {
            double best = 0;
            for (int pass = 0; pass < 5; pass++) best = Math.max(best, fmaThroughput(t));
            System.out.printf(Locale.ROOT, "peak FP32 FMA   %d thread(s): %6.1f GFLOP/s (12 independent %d-lane FMA chains per thread, best of 5)%n",
                    t, best / 1e9, F.length());
        }
    }

    /** Bytes per second of {@code threads} threads each summing its contiguous share of {@code seg}. */
    static double bandwidth(MemorySegment seg, int threads) throws Exception {
        long chunk = (seg.byteSize() / threads) & ~255L;
        return chunk * threads / runTimed(threads, t -> sink += sum(seg, t * chunk, chunk));
    }

    /** Seconds from releasing {@code threads} fresh platform threads running {@code body(id)} until all finished. */
    private static double runTimed(int threads, java.util.function.IntConsumer body) throws Exception {
        CyclicBarrier start = new CyclicBarrier(threads + 1), end = new CyclicBarrier(threads + 1);
        Thread[] ts = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            int id = i;
            ts[i] = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    body.accept(id);
                    end.await();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
        }
        start.await();
        long t0 = System.nanoTime();
        end.await();
        long t1 = System.nanoTime();
        for (Thread t : ts) t.join();
        return (t1 - t0) / 1e9;
    }

    /** Sum of the floats in [off, off+len): four accumulators so the adds don't limit a memory-bound loop. */
    static float sum(MemorySegment seg, long off, long len) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        long step = F.vectorByteSize();
        long end = off + len - 4 * step;
        long p = off;
        for (; p <= end; p += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, p, LE));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, p + step, LE));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, p + 2 * step, LE));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, p + 3 * step, LE));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    static final long FMA_ITERS = 50_000_000L;

    /** FLOP/s of {@code threads} threads each running {@link #fmaChains}. */
    static double fmaThroughput(int threads) throws Exception {
        double flops = 2.0 * 12 * F.length() * FMA_ITERS * threads;
        return flops / runTimed(threads, t -> sink += fmaChains(FMA_ITERS));
    }

    /** 12 independent FMA dependency chains (enough to cover FMA latency x pipes), all in registers. */
    static float fmaChains(long iters) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = FloatVector.broadcast(F, 2f), a2 = FloatVector.broadcast(F, 3f),
                a3 = FloatVector.broadcast(F, 4f), a4 = FloatVector.broadcast(F, 5f), a5 = FloatVector.broadcast(F, 6f),
                a6 = FloatVector.broadcast(F, 7f), a7 = FloatVector.broadcast(F, 8f), a8 = FloatVector.broadcast(F, 9f),
                a9 = FloatVector.broadcast(F, 10f), a10 = FloatVector.broadcast(F, 11f), a11 = FloatVector.broadcast(F, 12f);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c);
            a4 = a4.fma(m, c); a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c);
            a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
