package io.jlm.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The generic batched (prefill) product used by every weight type: {@link #R} weight rows are dequantized once
 * per batch tile into a float scratch, then a register-blocked micro-kernel computes an R x 4 (weight rows x
 * activation rows) tile with 16 vector accumulators, so each inner step loads 8 vectors for 16 FMAs (instead of
 * 5 loads for 4 FMAs when one weight row meets 4 activation rows). Activation rows are tiled so that a tile
 * stays in L2 while all weight rows of the range pass over it.
 */
final class MatmulTiles {
    private MatmulTiles() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    /** Weight rows dequantized together (the micro-kernel's height). */
    static final int R = 4;

    /** Floats of scratch {@link #matmul} needs for rows of {@code cols} columns. */
    static int scratchLength(int cols) {
        return R * cols;
    }

    private static final ThreadLocal<float[][]> LOCAL = ThreadLocal.withInitial(() -> new float[1][]);

    /** Activation rows per tile so that a tile of x (tile * cols floats) stays within ~512 KiB (L2). */
    static int batchTile(int cols) {
        int t = (128 * 1024) / Math.max(1, cols);
        return Math.max(16, t & ~3);
    }

    /** See {@link WeightKernel#matmul}; {@code scratch} is used when it holds {@link #scratchLength} floats. */
    static void matmul(WeightKernel k, MemorySegment seg, long offset, long rowBytes, int rowFrom, int rowTo, int cols,
                       float[] x, int batch, float[] out, int outStride, float[] scratch) {
        int need = scratchLength(cols);
        float[] w = scratch;
        if (w == null || w.length < need) {
            float[][] holder = LOCAL.get();
            if (holder[0] == null || holder[0].length < need) holder[0] = new float[need];
            w = holder[0];
        }
        int tile = batchTile(cols);
        for (int bt = 0; bt < batch; bt += tile) {
            int bEnd = Math.min(batch, bt + tile);
            int r = rowFrom;
            for (; r + R <= rowTo; r += R) {
                for (int j = 0; j < R; j++) k.dequantize(seg, offset + (r + j) * rowBytes, w, j * cols, cols);
                int b = bt;
                for (; b + 4 <= bEnd; b += 4) tile4x4(w, cols, x, b, out, outStride, r);
                for (; b < bEnd; b++) tile4x1(w, cols, x, b, out, outStride, r);
            }
            for (; r < rowTo; r++) {
                k.dequantize(seg, offset + r * rowBytes, w, 0, cols);
                for (int b = bt; b < bEnd; b++) out[b * outStride + r] = VectorMath.dot(w, 0, x, b * cols, cols);
            }
        }
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
