package io.jlm.benchmarks;

import io.jlm.core.tensor.GGMLType;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Runs the JMH benchmarks selected by the (standard JMH) command line and prints, per result, the weight
 * bytes streamed per second (GB/s, 1e9 bytes) and GFLOP/s (2 flops per multiply-add). Example:
 * <pre>java -cp 'jlm-benchmarks/target/classes:jlm-benchmarks/target/lib/*' io.jlm.benchmarks.KernelReport \
 *     'KernelBenchmark.matvec' -p resident=dram -p shape=5632x2048</pre>
 */
public final class KernelReport {

    /** Types in the order of the benchmarks' {@code type} parameter (float types first, then by family). */
    static final List<String> TYPE_ORDER = List.of("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K");

    record Row(String bench, String type, String shape, String extra, double usPerOp, double gbps, double gflops) {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions opts = new CommandLineOptions(args);
        Collection<RunResult> results = new Runner(opts).run();
        List<Row> rows = new ArrayList<>();
        for (RunResult rr : results) {
            BenchmarkParams p = rr.getParams();
            String bench = p.getBenchmark().substring(p.getBenchmark().lastIndexOf('.', p.getBenchmark().lastIndexOf('.') - 1) + 1);
            String method = bench.substring(bench.indexOf('.') + 1);
            GGMLType type = GGMLType.valueOf(p.getParam("type"));
            int[] s = WeightFixture.shape(p.getParam("shape"));
            int rowsN = s[0], cols = s[1];
            double us = toMicros(rr.getPrimaryResult().getScore(), p.getTimeUnit());
            double bytes, flops;
            switch (method) {
                case "dot" -> { bytes = type.byteSize(cols); flops = 2.0 * cols; }
                case "matvec" -> { bytes = (double) rowsN * type.byteSize(cols); flops = 2.0 * rowsN * cols; }
                case "matmul" -> { bytes = (double) rowsN * type.byteSize(cols); flops = 2.0 * rowsN * cols * KernelBenchmark.BATCH; }
                default -> { continue; }
            }
            String extra = p.getParam("resident") != null ? p.getParam("resident")
                    : p.getParam("threads") != null ? "t=" + p.getParam("threads") : "";
            rows.add(new Row(bench, type.name(), p.getParam("shape"), extra, us, bytes / us / 1e3, flops / us / 1e3));
        }
        rows.sort(Comparator.comparing(Row::bench).thenComparing(Row::shape).thenComparing(Row::extra)
                .thenComparing(r -> TYPE_ORDER.indexOf(r.type())));
        System.out.println();
        System.out.println("| benchmark | type | shape | setting | us/op | weight GB/s | GFLOP/s |");
        System.out.println("| --- | --- | --- | --- | ---: | ---: | ---: |");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %.1f | %.2f | %.2f |%n",
                    r.bench(), r.type(), r.shape(), r.extra(), r.usPerOp(), r.gbps(), r.gflops());
        }
    }

    private static double toMicros(double score, TimeUnit unit) {
        return score * unit.toNanos(1) / 1e3;
    }
}
