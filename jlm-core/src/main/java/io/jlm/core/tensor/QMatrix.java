package io.jlm.core.tensor;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.Kernels;
import io.jlm.core.quant.WeightKernel;

import java.lang.foreign.MemorySegment;

/**
 * A row-major weight matrix of {@code rows} x {@code cols} elements of one {@link GGMLType},
 * stored in a segment (usually a slice of a memory-mapped GGUF file). In GGUF terms cols = ne[0], rows = ne[1].
 */
public record QMatrix(GGMLType type, int rows, int cols, MemorySegment data) {

    public QMatrix {
        long need = (long) rows * type.byteSize(cols);
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("matrix " + rows + "x" + cols + " " + type + " needs " + need
                    + " bytes but has " + data.byteSize());
        }
    }

    public WeightKernel kernel() { return Kernels.of(type); }

    public long rowBytes() { return type.byteSize(cols); }

    /** out[r] = W[r,:] . x for every row, split over the pool's threads. */
    public void matvec(float[] x, float[] out, ThreadPool pool) {
        throw new UnsupportedOperationException("TODO");
    }

    /** out[b*rows + r] = W[r,:] . x[b*cols ..] for b in [0,batch): matrix-matrix product for prefill. */
    public void matmul(float[] x, int batch, float[] out, ThreadPool pool) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Dequantizes row r into out[outOff .. outOff+cols) (embedding lookup). */
    public void row(int r, float[] out, int outOff) {
        kernel().dequantize(data, r * rowBytes(), out, outOff, cols);
    }
}
