package io.jlm.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The generic batched (prefill) product used by every weight type, in two forms chosen by batch size.
 *
 * <p><b>Small batches</b> (fewer than {@link #PACKED_MIN_BATCH} activation rows, e.g. a decode step of a few
 * streams): {@link #R} weight rows are dequantized into a float scratch and a register-blocked micro-kernel
 * computes an R x 2 (AVX2) or R x 4 (weight rows x activation rows) tile of dot products, one vector accumulator
 * and one reduction per pair; each dequantized weight is used by every activation row of the pass.
 *
 * <p><b>Large batches</b> (prefill): a packed outer-product GEMM. A pass of activation rows is packed once into
 * blocks of {@link #MR} rows, column-major within each {@link #KC}-column slice; {@link #W} weight rows at a time
 * are dequantized, and each KC-column slice of them is transposed into a 16 KiB (AVX2) buffer that stays in L1
 * while the micro-kernel walks every activation block past it, holding an MR x W output block in 8 vector
 * accumulators (per column one broadcast per activation row and two vector loads of the slice). The dot-product
 * form tops out at ~45-50 % of the FMA peak on AVX2: its 4 x 4 tile keeps 6 accumulators on the stack with 16
 * vector registers, and narrower tiles re-read the activation tile from L2 until L2 bandwidth caps them; the
 * packed form reaches ~70 % (KernelBench, one thread, 256 rows: 61 vs 42 GFLOP/s). Its dequantize-and-transpose
 * step costs too much below ~48 rows, hence the two forms. Each output of the packed form is the sum over the
 * columns in order (one FMA chain per lane, continued across slices).
 */
final class MatmulTiles {
    private MatmulTiles() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    /**
     * 256-bit vectors (AVX2, 16 registers): the dot-product form uses 4 x 2 tiles (8 accumulators); the 4 x 4 tile kept
     * 6 of its 16 accumulators on the stack there (KernelBench Q8_0, one thread: 16 rows 33 -> 42, 32 rows 36 -> 44,
     * 8 rows 32 -> 34 GFLOP/s).
     */
    private static final boolean NARROW = F.vectorBitSize() <= 256;

    /** Weight rows dequantized together in the dot-product form (its micro-kernel's height). */
    static final int R = 4;

    /** Activation rows from which the packed form is used. */
    static final int PACKED_MIN_BATCH = 48;

    /** Activation rows per micro-tile of the packed form. */
    static final int MR = 4;

    /** Weight rows per panel of the packed form: two vectors' worth (16 with AVX2, 32 with AVX-512). */
    static final int W = 2 * L;

    /** Columns per pass of the packed micro-kernel: a KC x W slice of the panel (16 KiB with AVX2) stays in L1. */
    static final int KC = 256;

    /** Floats of scratch {@link #matmul} needs for rows of {@code cols} columns (one dequantized panel). */
    static int scratchLength(int cols) {
        return W * cols;
    }

    /** Per thread: [0] panel (when the caller's scratch is too small), [1] a transposed slice, [2] packed activations, [3] an edge tile. */
    private static final ThreadLocal<float[][]> LOCAL = ThreadLocal.withInitial(() -> new float[4][]);

    private static float[] buffer(float[][] holder, int i, int length) {
        if (holder[i] == null || holder[i].length < length) holder[i] = new float[length];
        return holder[i];
    }

    /**
     * Activation rows per pass of the packed form (a multiple of MR): about 4 MiB packed (L3), streamed once per
     * panel in order. The bigger the pass, the fewer times each weight is dequantized and transposed: pp512 of the 1B
     * Q8_0 model, one thread, 41 t/s with 1 MiB passes, 47 with 4 MiB, 46 with 16 MiB.
     */
    static int packedBatchTile(int cols) {
        int t = (1024 * 1024) / Math.max(1, cols);
        return Math.max(16, t & ~(MR - 1));
    }

    /** Activation rows per tile so that a tile of x (tile * cols floats) stays within ~512 KiB (L2). */
    static int batchTile(int cols) {
        int t = (128 * 1024) / Math.max(1, cols);
        return Math.max(16, t & ~3);
    }

    /** See {@link WeightKernel#matmul}; {@code scratch} is used when it holds {@link #scratchLength} floats. */
    static void matmul(WeightKernel k, MemorySegment seg, long offset, long rowBytes, int rowFrom, int rowTo, int cols,
                       float[] x, int batch, float[] out, int outStride, float[] scratch) {
        float[] w = scratch != null && scratch.length >= scratchLength(cols) ? scratch : buffer(LOCAL.get(), 0, scratchLength(cols));
        if (batch >= PACKED_MIN_BATCH) packed(k, seg, offset, rowBytes, rowFrom, rowTo, cols, x, batch, out, outStride, w);
        else dotTiles(k, seg, offset, rowBytes, rowFrom, rowTo, cols, x, batch, out, outStride, w);
    }

    private static void dotTiles(WeightKernel k, MemorySegment seg, long offset, long rowBytes, int rowFrom, int rowTo,
                                 int cols, float[] x, int batch, float[] out, int outStride, float[] w) {
        int tile = batchTile(cols);
        for (int bt = 0; bt < batch; bt += tile) {
            int bEnd = Math.min(batch, bt + tile);
            int r = rowFrom;
            for (; r + R <= rowTo; r += R) {
                for (int j = 0; j < R; j++) k.dequantize(seg, offset + (r + j) * rowBytes, w, j * cols, cols);
                int b = bt;
                if (NARROW) for (; b + 2 <= bEnd; b += 2) tile4x2(w, cols, x, b, out, outStride, r);
                else for (; b + 4 <= bEnd; b += 4) tile4x4(w, cols, x, b, out, outStride, r);
                for (; b < bEnd; b++) tile4x1(w, cols, x, b, out, outStride, r);
            }
            for (; r < rowTo; r++) {
                k.dequantize(seg, offset + r * rowBytes, w, 0, cols);
                for (int b = bt; b < bEnd; b++) out[b * outStride + r] = VectorMath.dot(w, 0, x, b * cols, cols);
            }
        }
    }

    private static void packed(WeightKernel k, MemorySegment seg, long offset, long rowBytes, int rowFrom, int rowTo,
                               int cols, float[] x, int batch, float[] out, int outStride, float[] panel) {
        float[][] holder = LOCAL.get();
        float[] wp = buffer(holder, 1, KC * W);
        int tile = packedBatchTile(cols);
        float[] xp = buffer(holder, 2, Math.min(tile, (batch + MR - 1) / MR * MR) * cols);
        float[] edge = buffer(holder, 3, MR * W);
        for (int bt = 0; bt < batch; bt += tile) {
            int bEnd = Math.min(batch, bt + tile), blocks = (bEnd - bt + MR - 1) / MR;
            // by column slice, then block, then column, then row: the kernel calls of one slice read it in order
            int padded = blocks * MR;
            for (int kc = 0; kc < cols; kc += KC) {
                int kn = Math.min(KC, cols - kc);
                for (int q = 0; q < blocks; q++) {
                    int o = kc * padded + q * MR * kn;
                    for (int j = 0; j < MR; j++) {
                        int b = bt + q * MR + j;
                        if (b < bEnd) for (int i = 0, src = b * cols + kc; i < kn; i++) xp[o + i * MR + j] = x[src + i];
                        else for (int i = 0; i < kn; i++) xp[o + i * MR + j] = 0f;
                    }
                }
            }
            int r = rowFrom;
            for (; r + W <= rowTo; r += W) {
                for (int j = 0; j < W; j++) k.dequantize(seg, offset + (r + j) * rowBytes, panel, j * cols, cols);
                for (int kc = 0; kc < cols; kc += KC) {            // a KC-column slice of the panel stays in L1
                    int kn = Math.min(KC, cols - kc);
                    boolean acc = kc > 0;
                    for (int i0 = 0; i0 < kn; i0 += 64) {          // wp[i*W + j] = w[r + j][kc + i], 4 KiB at a time
                        int i1 = Math.min(kn, i0 + 64);
                        for (int j = 0; j < W; j++)
                            for (int i = i0, src = j * cols + kc + i0; i < i1; i++, src++) wp[i * W + j] = panel[src];
                    }
                    for (int q = 0; q < blocks; q++) {
                        int b = bt + q * MR, rs = Math.min(MR, bEnd - b), xo = kc * padded + q * MR * kn;
                        if (rs == MR) {
                            VectorMath.gemmTile4x2(xp, xo, wp, 0, kn, out, b * outStride + r, outStride, acc);
                        } else {                                   // the last rows: through a full-size copy
                            if (acc) for (int j = 0; j < rs; j++) System.arraycopy(out, (b + j) * outStride + r, edge, j * W, W);
                            VectorMath.gemmTile4x2(xp, xo, wp, 0, kn, edge, 0, W, acc);
                            for (int j = 0; j < rs; j++) System.arraycopy(edge, j * W, out, (b + j) * outStride + r, W);
                        }
                    }
                }
            }
            for (; r < rowTo; r++) {                            // rows left over from the panels
                k.dequantize(seg, offset + r * rowBytes, panel, 0, cols);
                for (int b = bt; b < bEnd; b++) out[b * outStride + r] = VectorMath.dot(panel, 0, x, b * cols, cols);
            }
        }
    }

    /** out[(b+j)*outStride + r+i] = w[i*cols ..] . x[(b+j)*cols ..] for i in 0..3, j in 0..1. */
    private static void tile4x2(float[] w, int cols, float[] x, int b, float[] out, int outStride, int r) {
        int w0 = 0, w1 = cols, w2 = 2 * cols, w3 = 3 * cols;
        int x0 = b * cols, x1 = x0 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int i = 0;
        for (; i <= cols - L; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + i), v1 = FloatVector.fromArray(F, x, x1 + i);
            FloatVector u = FloatVector.fromArray(F, w, w0 + i);
            a00 = u.fma(v0, a00); a01 = u.fma(v1, a01);
            u = FloatVector.fromArray(F, w, w1 + i);
            a10 = u.fma(v0, a10); a11 = u.fma(v1, a11);
            u = FloatVector.fromArray(F, w, w2 + i);
            a20 = u.fma(v0, a20); a21 = u.fma(v1, a21);
            u = FloatVector.fromArray(F, w, w3 + i);
            a30 = u.fma(v0, a30); a31 = u.fma(v1, a31);
        }
        float s00 = a00.reduceLanes(VectorOperators.ADD), s01 = a01.reduceLanes(VectorOperators.ADD);
        float s10 = a10.reduceLanes(VectorOperators.ADD), s11 = a11.reduceLanes(VectorOperators.ADD);
        float s20 = a20.reduceLanes(VectorOperators.ADD), s21 = a21.reduceLanes(VectorOperators.ADD);
        float s30 = a30.reduceLanes(VectorOperators.ADD), s31 = a31.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float y0 = x[x0 + i], y1 = x[x1 + i];
            s00 += w[w0 + i] * y0; s01 += w[w0 + i] * y1; s10 += w[w1 + i] * y0; s11 += w[w1 + i] * y1;
            s20 += w[w2 + i] * y0; s21 += w[w2 + i] * y1; s30 += w[w3 + i] * y0; s31 += w[w3 + i] * y1;
        }
        int o0 = b * outStride + r, o1 = o0 + outStride;
        out[o0] = s00; out[o0 + 1] = s10; out[o0 + 2] = s20; out[o0 + 3] = s30;
        out[o1] = s01; out[o1 + 1] = s11; out[o1 + 2] = s21; out[o1 + 3] = s31;
    }

    /** out[(b+j)*outStride + r+i] = w[i*cols ..] . x[(b+j)*cols ..] for i, j in 0..3. */
    private static void tile4x4(float[] w, int cols, float[] x, int b, float[] out, int outStride, int r) {
        int w0 = 0, w1 = cols, w2 = 2 * cols, w3 = 3 * cols;
        int x0 = b * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int i = 0;
        for (; i <= cols - L; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + i), v1 = FloatVector.fromArray(F, x, x1 + i);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + i), v3 = FloatVector.fromArray(F, x, x3 + i);
            FloatVector u = FloatVector.fromArray(F, w, w0 + i);
            a00 = u.fma(v0, a00); a01 = u.fma(v1, a01); a02 = u.fma(v2, a02); a03 = u.fma(v3, a03);
            u = FloatVector.fromArray(F, w, w1 + i);
            a10 = u.fma(v0, a10); a11 = u.fma(v1, a11); a12 = u.fma(v2, a12); a13 = u.fma(v3, a13);
            u = FloatVector.fromArray(F, w, w2 + i);
            a20 = u.fma(v0, a20); a21 = u.fma(v1, a21); a22 = u.fma(v2, a22); a23 = u.fma(v3, a23);
            u = FloatVector.fromArray(F, w, w3 + i);
            a30 = u.fma(v0, a30); a31 = u.fma(v1, a31); a32 = u.fma(v2, a32); a33 = u.fma(v3, a33);
        }
        float s00 = a00.reduceLanes(VectorOperators.ADD), s01 = a01.reduceLanes(VectorOperators.ADD);
        float s02 = a02.reduceLanes(VectorOperators.ADD), s03 = a03.reduceLanes(VectorOperators.ADD);
        float s10 = a10.reduceLanes(VectorOperators.ADD), s11 = a11.reduceLanes(VectorOperators.ADD);
        float s12 = a12.reduceLanes(VectorOperators.ADD), s13 = a13.reduceLanes(VectorOperators.ADD);
        float s20 = a20.reduceLanes(VectorOperators.ADD), s21 = a21.reduceLanes(VectorOperators.ADD);
        float s22 = a22.reduceLanes(VectorOperators.ADD), s23 = a23.reduceLanes(VectorOperators.ADD);
        float s30 = a30.reduceLanes(VectorOperators.ADD), s31 = a31.reduceLanes(VectorOperators.ADD);
        float s32 = a32.reduceLanes(VectorOperators.ADD), s33 = a33.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float y0 = x[x0 + i], y1 = x[x1 + i], y2 = x[x2 + i], y3 = x[x3 + i];
            float u0 = w[w0 + i], u1 = w[w1 + i], u2 = w[w2 + i], u3 = w[w3 + i];
            s00 += u0 * y0; s01 += u0 * y1; s02 += u0 * y2; s03 += u0 * y3;
            s10 += u1 * y0; s11 += u1 * y1; s12 += u1 * y2; s13 += u1 * y3;
            s20 += u2 * y0; s21 += u2 * y1; s22 += u2 * y2; s23 += u2 * y3;
            s30 += u3 * y0; s31 += u3 * y1; s32 += u3 * y2; s33 += u3 * y3;
        }
        int o0 = b * outStride + r, o1 = o0 + outStride, o2 = o1 + outStride, o3 = o2 + outStride;
        out[o0] = s00; out[o0 + 1] = s10; out[o0 + 2] = s20; out[o0 + 3] = s30;
        out[o1] = s01; out[o1 + 1] = s11; out[o1 + 2] = s21; out[o1 + 3] = s31;
        out[o2] = s02; out[o2 + 1] = s12; out[o2 + 2] = s22; out[o2 + 3] = s32;
        out[o3] = s03; out[o3 + 1] = s13; out[o3 + 2] = s23; out[o3 + 3] = s33;
    }

    /** out[b*outStride + r+i] = w[i*cols ..] . x[b*cols ..] for i in 0..3. */
    private static void tile4x1(float[] w, int cols, float[] x, int b, float[] out, int outStride, int r) {
        int w0 = 0, w1 = cols, w2 = 2 * cols, w3 = 3 * cols, x0 = b * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i <= cols - L; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + i);
            a0 = FloatVector.fromArray(F, w, w0 + i).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, w1 + i).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, w2 + i).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, w3 + i).fma(v, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float y = x[x0 + i];
            s0 += w[w0 + i] * y; s1 += w[w1 + i] * y; s2 += w[w2 + i] * y; s3 += w[w3 + i] * y;
        }
        int o = b * outStride + r;
        out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
    }
}
