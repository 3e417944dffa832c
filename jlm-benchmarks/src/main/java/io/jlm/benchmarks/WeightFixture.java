package io.jlm.benchmarks;

import io.jlm.core.quant.Kernels;
import io.jlm.core.quant.WeightKernel;
import io.jlm.core.tensor.GGMLType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * Off-heap weight matrices for the kernel benchmarks: one {@code rows x cols} matrix quantized once with the
 * type's reference quantizer, then copied {@code copies} times so that cycling through the copies makes every
 * benchmark invocation read its weights from DRAM rather than from the caches.
 */
final class WeightFixture implements AutoCloseable {

    /** Total bytes of all copies when weights should come from DRAM: far more than any L3 cache. */
    static final long DRAM_WORKING_SET = 512L << 20;

    final GGMLType type;
    final WeightKernel kernel;
    final int rows, cols;
    final long rowBytes, matrixBytes;
    final int copies;
    final MemorySegment data;
    private final Arena arena = Arena.ofShared();
    private int next;

    WeightFixture(GGMLType type, int rows, int cols, boolean dram, long seed) {
        this.type = type;
        this.kernel = Kernels.of(type);
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type.byteSize(cols);
        this.matrixBytes = rowBytes * rows;
        this.copies = dram ? (int) Math.max(2, (DRAM_WORKING_SET + matrixBytes - 1) / matrixBytes) : 1;
        this.data = arena.allocate(matrixBytes * copies, 64);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) row[c] = (float) (rnd.nextGaussian() * 0.02);
            kernel.quantize(row, 0, cols, data, r * rowBytes);
        }
        for (int k = 1; k < copies; k++) MemorySegment.copy(data, 0, data, k * matrixBytes, matrixBytes);
    }

    /** Byte offset of the copy to use for the next invocation (round robin). */
    long nextOffset() {
        int k = next;
        next = k + 1 == copies ? 0 : k + 1;
        return k * matrixBytes;
    }

    /** The matrix view of copy {@code k}, as {@link io.jlm.core.tensor.QMatrix} sees it. */
    MemorySegment copy(int k) {
        return data.asSlice(k * matrixBytes, matrixBytes);
    }

    static float[] activations(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    static int[] shape(String s) {
        String[] p = s.split("x");
        if (p.length != 2) throw new IllegalArgumentException("shape must be ROWSxCOLS, got " + s);
        return new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    @Override public void close() {
        arena.close();
    }
}
