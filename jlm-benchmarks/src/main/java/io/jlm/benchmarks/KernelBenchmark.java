package io.jlm.benchmarks;

import io.jlm.core.tensor.GGMLType;
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
 * Single-threaded kernel throughput per weight type: {@code dot} (one row), {@code matvec} (every row of the
 * matrix against one activation vector: the decode step) and {@code matmul} (every row against a batch of
 * 32 activation rows: prefill). Time per operation; {@link KernelReport} turns it into GB/s of weights read
 * and GFLOP/s. {@code resident=dram} cycles through copies of the matrix totalling 512 MiB so the weights
 * stream from memory (as in decode); {@code resident=cache} reuses one copy (compute-bound ceiling).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class KernelBenchmark {

    public static final int BATCH = 32;

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    @Param({"2048x2048", "5632x2048"})
    public String shape;

    @Param({"dram", "cache"})
    public String resident;

    private WeightFixture w;
    private float[] x, xs, out, outs, scratch;

    @Setup(Level.Trial)
    public void setup() {
        int[] s = WeightFixture.shape(shape);
        w = new WeightFixture(GGMLType.valueOf(type), s[0], s[1], resident.equals("dram"), 42);
        x = WeightFixture.activations(w.cols, 7);
        xs = WeightFixture.activations(BATCH * w.cols, 8);
        out = new float[w.rows];
        outs = new float[BATCH * w.rows];
        scratch = new float[Math.max(w.cols, 1) * 2];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        w.close();
    }

    /** One row . x (cols elements). */
    @Benchmark
    public float dot() {
        return w.kernel.dot(w.data, w.nextOffset(), x, 0, w.cols);
    }

    /** All rows . x, one thread: the kernel alone, without the thread pool. */
    @Benchmark
    public void matvec(Blackhole bh) {
        long base = w.nextOffset();
        long rb = w.rowBytes;
        for (int r = 0; r < w.rows; r++) out[r] = w.kernel.dot(w.data, base + r * rb, x, 0, w.cols);
        bh.consume(out);
    }

    /** All rows times a batch of 32 activation rows, one thread. */
    @Benchmark
    public void matmul(Blackhole bh) {
        w.kernel.matmul(w.data, w.nextOffset(), w.rowBytes, 0, w.rows, w.cols, xs, BATCH, outs, w.rows, scratch);
        bh.consume(outs);
    }
}
