package io.jlm.core.tensor;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.Kernels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

@org.junit.jupiter.api.Timeout(60)
class QMatrixTest {

    /** Builds a rows x cols matrix of type t from random floats; returns it and its dequantized values (w). */
    static QMatrix build(GGMLType t, int rows, int cols, Random rnd, float[] w) {
        long rb = t.byteSize(cols);
        MemorySegment whole = Arena.ofAuto().allocate(3 + rows * rb + 64);
        MemorySegment data = whole.asSlice(3, rows * rb);   // unaligned start
        float[] src = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) src[c] = (float) (rnd.nextGaussian() * (1 + r % 3));
            Kernels.of(t).quantize(src, 0, cols, data, r * rb);
        }
        QMatrix m = new QMatrix(t, rows, cols, data);
        // reference values: decode each element independently of the kernels' dot/matmul via dequantize of one row
        for (int r = 0; r < rows; r++) m.row(r, w, r * cols);
        return m;
    }

    static double[] ref(float[] w, int rows, int cols, float[] x, int xOff) {
        double[] o = new double[rows * 2];
        for (int r = 0; r < rows; r++) {
            double s = 0, mag = 0;
            for (int c = 0; c < cols; c++) {
                s += (double) w[r * cols + c] * x[xOff + c];
                mag += Math.abs((double) w[r * cols + c] * x[xOff + c]);
            }
            o[2 * r] = s;
            o[2 * r + 1] = mag;
        }
        return o;
    }

    /**
     * x as the integer matvec sees it (written from ggml's quantize_row_q8_0 and quantize_row_q8_K, independently of
     * Q8Activations). Q8_0/Q4_0: per 32-block d = f16(amax / 127), q = round-half-even(x * 127 / amax). K-quants: per
     * 256-block m = the element of largest magnitude (first on ties), d = m / -127 in float32,
     * q = min(127, round-half-even(x * -127 / m)). Value q * d; types without an integer dot see x unchanged.
     */
    static float[] asSeenByMatvec(GGMLType t, float[] x, int xOff, int cols) {
        float[] y = java.util.Arrays.copyOfRange(x, xOff, xOff + cols);
        if (!Kernels.of(t).hasDotQ8()) return y;
        boolean k = t.blockSize() == 256;
        int block = k ? 256 : 32;
        if (cols % block != 0) return y;
        for (int b = 0; b < cols; b += block) {
            float amax = 0f, max = 0f;
            for (int j = 0; j < block; j++) {
                if (Math.abs(y[b + j]) > amax) {
                    amax = Math.abs(y[b + j]);
                    max = y[b + j];
                }
            }
            float d, id;
            if (k) {
                id = amax == 0f ? 0f : -127f / max;
                d = amax == 0f ? 0f : 1f / id;
            } else {
                d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                id = amax == 0f ? 0f : 127f / amax;
            }
            for (int j = 0; j < block; j++) y[b + j] = (float) Math.min(127, Math.rint(y[b + j] * id)) * d;
        }
        return y;
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void integerMatvecStaysWithinTheActivationQuantizationError(GGMLType t) {
        assertEquals(io.jlm.core.quant.Q8Activations.SUPPORTED, Kernels.of(t).hasDotQ8());
        for (int cols : new int[]{256, 512, 1024}) checkIntegerMatvec(t, cols);
    }

    private static void checkIntegerMatvec(GGMLType t, int cols) {
        Random rnd = new Random(99 + cols);
        int rows = 16, block = t.blockSize() == 256 ? 256 : 32;
        float[] w = new float[rows * cols];
        QMatrix m = build(t, rows, cols, rnd, w);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        float[] out = new float[rows], two = new float[rows];
        m.matvec(x, out, null);
        try (ThreadPool pool = new ThreadPool(2)) {
            m.matvec(x, two, pool);
        }
        float[] seen = asSeenByMatvec(t, x, 0, cols);
        double[] rr = ref(w, rows, cols, seen, 0);
        for (int r = 0; r < rows; r++) {
            double exact = 0, bound = 0;
            for (int b = 0; b < cols; b += block) {
                float amax = 0f;
                for (int j = 0; j < block; j++) amax = Math.max(amax, Math.abs(x[b + j]));
                for (int j = 0; j < block; j++) {
                    exact += (double) w[r * cols + b + j] * x[b + j];
                    // rounding x to a multiple of d costs at most d/2 (+ the f16 rounding of d itself)
                    bound += Math.abs(w[r * cols + b + j]) * (amax / 127.0 * 0.5 + Math.abs(x[b + j]) * 1e-3);
                }
            }
            String what = t + " cols " + cols + " row " + r;
            assertEquals(exact, out[r], bound, what);
            // and it is the product with exactly the rounded activations, up to float summation order
            assertEquals(rr[2 * r], out[r], 1e-5 * rr[2 * r + 1], what + " vs rounded activations");
            assertEquals(out[r], two[r], 0f, what + ": two threads");
        }
    }

    /** m.matmul of {@code batch} random rows against the float64 reference (activations rounded as matvec sees them). */
    private static void checkMatmul(GGMLType t, QMatrix m, float[] w, Random rnd, int batch, ThreadPool p, String what) {
        int rows = m.rows(), cols = m.cols();
        float[] xb = new float[batch * cols];
        for (int i = 0; i < xb.length; i++) xb[i] = (float) rnd.nextGaussian();
        float[] ob = new float[batch * rows];
        m.matmul(xb, batch, ob, p);
        for (int b = 0; b < batch; b++) {
            double[] rr = ref(w, rows, cols, asSeenByMatvec(t, xb, b * cols, cols), 0);
            for (int r = 0; r < rows; r++)
                assertEquals(rr[2 * r], ob[b * rows + r], 1e-5 * rr[2 * r + 1],
                        t + " matmul " + what + " batch=" + batch + " b=" + b + " r=" + r);
        }
    }

    /**
     * Prefill-sized batches take the packed GEMM path: several weight panels plus leftover rows, column slices
     * with a partial last one, activation tiles with a partial last block, two threads and none.
     */
    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void largeBatchMatmulMatchesScalarReference(GGMLType t) {
        Random rnd = new Random(99 + t.ordinal());
        int rows = 70, cols = t.blockSize() == 256 ? 768 : 608;
        float[] w = new float[rows * cols];
        QMatrix m = build(t, rows, cols, rnd, w);
        try (ThreadPool pool = new ThreadPool(2)) {
            // 1800 rows make two passes of packed activations at these widths (1724 or 1364 rows per pass)
            for (ThreadPool p : new ThreadPool[]{pool, null}) for (int batch : p == null ? new int[]{50} : new int[]{50, 1800}) {
                checkMatmul(t, m, w, rnd, batch, p, "pool=" + (p != null));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void matvecAndMatmulMatchScalarReference(GGMLType t) {
        Random rnd = new Random(1234 + t.ordinal());
        int rows = 37, cols = 160;
        float[] w = new float[rows * cols];
        QMatrix m = build(t, rows, cols, rnd, w);
        for (int threads : new int[]{1, 2}) {
            try (ThreadPool pool = new ThreadPool(threads)) {
                for (ThreadPool p : new ThreadPool[]{pool, null}) {
                    float[] x = new float[cols + 5];
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    float[] out = new float[rows];
                    m.matvec(x, out, p);
                    double[] ref = ref(w, rows, cols, asSeenByMatvec(t, x, 0, cols), 0);
                    for (int r = 0; r < rows; r++) assertEquals(ref[2 * r], out[r], 1e-5 * ref[2 * r + 1], t + " matvec row " + r);
                    float[] out2 = new float[rows + 4];
                    m.matvec(x, 5, out2, 4, p);
                    ref = ref(w, rows, cols, asSeenByMatvec(t, x, 5, cols), 0);
                    for (int r = 0; r < rows; r++) assertEquals(ref[2 * r], out2[4 + r], 1e-5 * ref[2 * r + 1], t + " matvec(off) row " + r);

                    for (int batch : new int[]{1, 4, 7}) checkMatmul(t, m, w, rnd, batch, p, "threads=" + threads);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "F16"})
    void rejectsShortBuffers(GGMLType t) {
        float[] w = new float[4 * 64];
        QMatrix m = build(t, 4, 64, new Random(1), w);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.matvec(new float[63], new float[4], null));
        assertTrue(e.getMessage().contains("64"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.matvec(new float[64], new float[3], null));
        assertThrows(IllegalArgumentException.class, () -> m.matmul(new float[64 * 2 - 1], 2, new float[8], null));
        assertThrows(IllegalArgumentException.class, () -> new QMatrix(t, 5, 64, m.data()));
    }
}
