package io.jlm.benchmarks;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * {@link QMatrix#matvec} and {@link QMatrix#matmul} (batch 32) through a {@link ThreadPool} of 1 or 2 threads,
 * weights streamed from DRAM (copies totalling 512 MiB, cycled). The gap to {@link KernelBenchmark#matvec}
 * with 1 thread is the pool's per-call overhead.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class QMatrixBenchmark {

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    @Param({"2048x2048", "5632x2048"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private WeightFixture w;
    private QMatrix[] matrices;
    private int next;
    private ThreadPool pool;
    private float[] x, xs, out, outs;

    @Setup(Level.Trial)
    public void setup() {
        int[] s = WeightFixture.shape(shape);
        w = new WeightFixture(GGMLType.valueOf(type), s[0], s[1], true, 42);
        matrices = new QMatrix[w.copies];
        for (int k = 0; k < w.copies; k++) matrices[k] = new QMatrix(w.type, w.rows, w.cols, w.copy(k));
        pool = new ThreadPool(threads);
        x = WeightFixture.activations(w.cols, 7);
        xs = WeightFixture.activations(KernelBenchmark.BATCH * w.cols, 8);
        out = new float[w.rows];
        outs = new float[KernelBenchmark.BATCH * w.rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        w.close();
    }

    private QMatrix nextMatrix() {
        QMatrix m = matrices[next];
        next = next + 1 == matrices.length ? 0 : next + 1;
        return m;
    }

    @Benchmark
    public void matvec(Blackhole bh) {
        nextMatrix().matvec(x, out, pool);
        bh.consume(out);
    }

    @Benchmark
    public void matmul(Blackhole bh) {
        nextMatrix().matmul(xs, KernelBenchmark.BATCH, outs, pool);
        bh.consume(outs);
    }
}
