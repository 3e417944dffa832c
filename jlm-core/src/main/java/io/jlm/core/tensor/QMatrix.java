package io.jlm.core.tensor;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.Kernels;
import io.jlm.core.quant.PairedActivations;
import io.jlm.core.quant.Q8Activations;
import io.jlm.core.quant.WeightKernel;

import java.lang.foreign.MemorySegment;

/**
 * A row-major weight matrix of {@code rows} x {@code cols} elements of one {@link GGMLType},
 * stored in a segment (usually a slice of a memory-mapped GGUF file). In GGUF terms cols = ne[0], rows = ne[1].
 * The products split rows over the pool's threads; they allocate nothing per call (a reusable task object is
 * kept per calling thread and scratch buffers per pool thread index).
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

    /**
     * out[r] = W[r,:] . x for every row, split over the pool's threads ({@code pool} may be null: single-threaded).
     * Weight types with an integer dot product ({@link WeightKernel#hasDotQ8}: Q8_0, Q4_0, Q4_K, Q6_K) first quantize
     * x to 8 bits in the layout ggml pairs with them ({@link WeightKernel#dotQ8Layout}) and multiply in integers.
     */
    public void matvec(float[] x, float[] out, ThreadPool pool) {
        matvec(x, 0, out, 0, pool);
    }

    /** out[outOff + r] = W[r,:] . x[xOff ..] for every row, split over the pool's threads. */
    public void matvec(float[] x, int xOff, float[] out, int outOff, ThreadPool pool) {
        if (xOff < 0 || x.length - xOff < cols) {
            throw new IllegalArgumentException("matvec " + rows + "x" + cols + ": x needs " + cols + " floats from "
                    + xOff + " but has length " + x.length);
        }
        if (outOff < 0 || out.length - outOff < rows) {
            throw new IllegalArgumentException("matvec " + rows + "x" + cols + ": out needs " + rows + " floats from "
                    + outOff + " but has length " + out.length);
        }
        WeightKernel k = kernel();
        Q8Activations xq = integerDot(k) ? activations(k).quantize(x, xOff, cols) : null;
        float[] xp = k.hasDotPaired() && cols % PairedActivations.GROUP == 0 ? PAIRED.get().permute(x, xOff, cols).values() : null;
        if (pool == null || pool.threads() == 1) {
            long rb = rowBytes();
            if (xq != null) {
                for (int r = 0; r < rows; r++) out[outOff + r] = k.dotQ8(data, r * rb, xq, 0, cols);
            } else if (xp != null) {
                for (int r = 0; r < rows; r++) out[outOff + r] = k.dotPaired(data, r * rb, x, xOff, xp, cols);
            } else {
                for (int r = 0; r < rows; r++) out[outOff + r] = k.dot(data, r * rb, x, xOff, cols);
            }
            return;
        }
        Task t = TASK.get();
        t.set(this, k, x, xOff, out, outOff, 0, null);
        t.xq = xq;
        t.xp = xp;
        try {
            pool.parallelFor(rows, t);
        } finally {
            t.clear();
        }
    }

    /**
     * out[b*rows + r] = W[r,:] . x[b*cols ..] for b in [0,batch): matrix-matrix product for prefill. For weight types
     * with an integer dot ({@link WeightKernel#hasDotQ8}) the rows of x are first rounded to 8-bit blocks, as
     * {@link #matvec} quantizes them.
     */
    public void matmul(float[] x, int batch, float[] out, ThreadPool pool) {
        if (batch < 0) throw new IllegalArgumentException("batch must be >= 0, got " + batch);
        if ((long) batch * cols > x.length) {
            throw new IllegalArgumentException("matmul " + rows + "x" + cols + ": x needs " + ((long) batch * cols)
                    + " floats for batch " + batch + " but has length " + x.length);
        }
        if ((long) batch * rows > out.length) {
            throw new IllegalArgumentException("matmul " + rows + "x" + cols + ": out needs " + ((long) batch * rows)
                    + " floats for batch " + batch + " but has length " + out.length);
        }
        if (batch == 0) return;
        WeightKernel k = kernel();
        if (integerDot(k)) {
            // the same 8-bit activations as matvec multiplies, so prefill and decode (and batched and single rows) agree
            x = ROUND_TRIP.get().round(k, x, batch, cols, pool);
        }
        if (pool == null) {
            k.matmul(data, 0, rowBytes(), 0, rows, cols, x, batch, out, rows, new float[WeightKernel.matmulScratchLength(cols)]);
            return;
        }
        if (pool.threads() == 1) {
            k.matmul(data, 0, rowBytes(), 0, rows, cols, x, batch, out, rows, pool.scratch(0, WeightKernel.matmulScratchLength(cols)));
            return;
        }
        Task t = TASK.get();
        t.set(this, k, x, 0, out, 0, batch, pool);
        try {
            pool.parallelFor(rows, t);
        } finally {
            t.clear();
        }
    }

    /** Dequantizes row r into out[outOff .. outOff+cols) (embedding lookup). */
    public void row(int r, float[] out, int outOff) {
        if (r < 0 || r >= rows) throw new IndexOutOfBoundsException("row " + r + " of a matrix with " + rows + " rows");
        kernel().dequantize(data, r * rowBytes(), out, outOff, cols);
    }

    /** Whether products with this matrix multiply 8-bit activations in integers ({@link WeightKernel#dotQ8}). */
    private boolean integerDot(WeightKernel k) {
        return integerDots && k.hasDotQ8() && cols % k.dotQ8Layout().block() == 0;
    }

    private static volatile boolean integerDots = true;

    /**
     * Turns the 8-bit activations of the integer dot products on (the default, as llama.cpp multiplies them) or off
     * for every matrix of this JVM, returning the previous setting. Off, every type multiplies float activations, so
     * that a model's logits can be compared with a float reference of its dequantized weights without the rounding
     * of activations (whose round-half boundaries a last-bit difference in summation order can cross).
     */
    public static boolean useIntegerDots(boolean on) {
        boolean before = integerDots;
        integerDots = on;
        return before;
    }

    /** The calling thread's quantized activation vector of k's layout (reused by every product of that thread). */
    private static Q8Activations activations(WeightKernel k) {
        return (k.dotQ8Layout() == Q8Activations.Layout.Q8_K ? ACTIVATIONS_K : ACTIVATIONS).get();
    }

    private static final ThreadLocal<Task> TASK = ThreadLocal.withInitial(Task::new);
    private static final ThreadLocal<Q8Activations> ACTIVATIONS =
            ThreadLocal.withInitial(() -> new Q8Activations(Q8Activations.Layout.Q8_0));
    private static final ThreadLocal<Q8Activations> ACTIVATIONS_K =
            ThreadLocal.withInitial(() -> new Q8Activations(Q8Activations.Layout.Q8_K));
    /** The calling thread's even/odd-permuted activation vector for kernels with a paired dot (F16). */
    private static final ThreadLocal<PairedActivations> PAIRED = ThreadLocal.withInitial(PairedActivations::new);
    /** The calling thread's rounding of activation rows for {@link #matmul}, with its output buffer. */
    private static final ThreadLocal<RoundTrip> ROUND_TRIP = ThreadLocal.withInitial(RoundTrip::new);

    /** Rounds activation rows to k's 8-bit layout and back ({@link #matmul}), on the pool when there is one. */
    private static final class RoundTrip implements ThreadPool.RangeBody {
        private float[] rounded = new float[0];
        private WeightKernel k;
        private float[] x;
        private int cols;

        /** The rounded copy of rows {@code [0, batch)} of x (valid until this thread's next call). */
        float[] round(WeightKernel k, float[] x, int batch, int cols, ThreadPool pool) {
            if (rounded.length < batch * cols) rounded = new float[batch * cols];
            this.k = k;
            this.x = x;
            this.cols = cols;
            try {
                // rows are rounded independently (each by its own thread's Q8Activations): the same bits on any pool
                if (pool == null || pool.threads() == 1 || batch == 1) run(0, batch, 0);
                else pool.parallelFor(batch, this);
            } finally {
                this.k = null;
                this.x = null;
            }
            return rounded;
        }

        @Override public void run(int from, int to, int thread) {
            Q8Activations xq = activations(k);
            for (int b = from; b < to; b++) xq.quantize(x, b * cols, cols).dequantize(rounded, b * cols);
        }
    }

    /** Reusable loop body (one per calling thread) so that products allocate nothing per call. */
    private static final class Task implements ThreadPool.RangeBody {
        private QMatrix m;
        private WeightKernel k;
        private float[] x, out;
        private int xOff, outOff, batch;
        private ThreadPool pool;
        private Q8Activations xq;
        private float[] xp;

        void set(QMatrix m, WeightKernel k, float[] x, int xOff, float[] out, int outOff, int batch, ThreadPool pool) {
            this.m = m;
            this.k = k;
            this.x = x;
            this.xOff = xOff;
            this.out = out;
            this.outOff = outOff;
            this.batch = batch;
            this.pool = pool;
            this.xq = null;
            this.xp = null;
        }

        void clear() {
            set(null, null, null, 0, null, 0, 0, null);
        }

        @Override public void run(int from, int to, int thread) {
            QMatrix m = this.m;
            WeightKernel k = this.k;
            long rb = m.rowBytes();
            int cols = m.cols;
            if (batch == 0) {
                float[] x = this.x, out = this.out;
                int xOff = this.xOff, outOff = this.outOff;
                MemorySegment data = m.data;
                Q8Activations xq = this.xq;
                float[] xp = this.xp;
                if (xq != null) {
                    for (int r = from; r < to; r++) out[outOff + r] = k.dotQ8(data, r * rb, xq, 0, cols);
                } else if (xp != null) {
                    for (int r = from; r < to; r++) out[outOff + r] = k.dotPaired(data, r * rb, x, xOff, xp, cols);
                } else {
                    for (int r = from; r < to; r++) out[outOff + r] = k.dot(data, r * rb, x, xOff, cols);
                }
            } else {
                k.matmul(m.data, 0, rb, from, to, cols, x, batch, out, m.rows, pool.scratch(thread, WeightKernel.matmulScratchLength(cols)));
            }
        }
    }
}
