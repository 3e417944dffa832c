package io.jlm.core.bench;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.Kernels;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * Manual throughput benchmark (not a unit test): matvec GB/s and matmul GFLOP/s per weight type.
 * Run: java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes io.jlm.core.bench.KernelBench [threads] [types...]
 */
public final class KernelBench {
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        String[] types = args.length > 1 ? java.util.Arrays.copyOfRange(args, 1, args.length)
                : new String[]{"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"};
        int rows = Integer.getInteger("rows", 4096), cols = 4096;
        Random rnd = new Random(1);
        float[] src = new float[cols];
        try (ThreadPool pool = new ThreadPool(threads); Arena arena = Arena.ofShared()) {
            for (String tn : types) {
                GGMLType t = GGMLType.parse(tn);
                long rb = t.byteSize(cols);
                int r2 = t == GGMLType.F32 ? rows : rows * 2; // > L3 for most types
                MemorySegment data = arena.allocate(r2 * rb, 64);
                for (int r = 0; r < r2; r++) {
                    for (int c = 0; c < cols; c++) src[c] = (float) rnd.nextGaussian();
                    Kernels.of(t).quantize(src, 0, cols, data, r * rb);
                }
                QMatrix m = new QMatrix(t, r2, cols, data);
                float[] x = new float[cols];
                for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
                float[] out = new float[r2];
                for (int i = 0; i < 30; i++) m.matvec(x, out, pool);
                int iters = 10;
                long best = Long.MAX_VALUE;
                for (int rep = 0; rep < 30; rep++) {
                    long t0 = System.nanoTime();
                    for (int i = 0; i < iters; i++) m.matvec(x, out, pool);
                    best = Math.min(best, System.nanoTime() - t0);
                }
                double sec = best / 1e9 / iters;
                double gbs = r2 * rb / sec / 1e9;
                // matmul
                int batch = Integer.getInteger("batch", 32);
                int mr = Math.min(1024, r2);
                QMatrix mm = new QMatrix(t, mr, cols, data.asSlice(0, mr * rb));
                float[] xb = new float[batch * cols];
                for (int i = 0; i < xb.length; i++) xb[i] = (float) rnd.nextGaussian();
                float[] ob = new float[batch * mr];
                for (int i = 0; i < 5; i++) mm.matmul(xb, batch, ob, pool);
                long bm = Long.MAX_VALUE;
                for (int rep = 0; rep < 5; rep++) {
                    long t0 = System.nanoTime();
                    mm.matmul(xb, batch, ob, pool);
                    bm = Math.min(bm, System.nanoTime() - t0);
                }
                double gflops = 2.0 * batch * mr * cols / (bm / 1e9) / 1e9;
                System.out.printf("%-5s matvec %6.2f GB/s (%.3f ms)   matmul(b=%d) %6.1f GFLOP/s%n", t, gbs, sec * 1e3, batch, gflops);
            }
        }
    }
}
