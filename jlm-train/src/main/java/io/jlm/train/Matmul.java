package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A reusable FP32 matrix-multiply task: {@code C[M,N] (+)= A[M,K] · B[K,N]}, B and C row-major, A addressed by
 * strides so that the same kernel serves {@code A} and {@code A^T} (element (i,k) at
 * {@code a[i*aRowStride + k*aColStride]}). The kernel is register-blocked (4 rows × 4 vectors of C held in
 * registers, one broadcast of A and four vector loads of B per k) and walks C in column panels so a panel of B
 * stays in cache while all row blocks pass over it. Rows are split over the pool's threads.
 *
 * <p>A task object is configured once ({@link #set}) and run many times ({@link #run()}); running allocates
 * nothing.
 */
final class Matmul implements ThreadPool.RangeBody {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    private static final int RB = 4;

    private final ThreadPool pool;
    private float[] a, b, c;
    private int aRowStride, aColStride, m, n, k;
    private boolean accumulate;

    Matmul(ThreadPool pool) { this.pool = pool; }

    Matmul set(float[] a, int aRowStride, int aColStride, float[] b, float[] c, int m, int n, int k, boolean accumulate) {
        this.a = a; this.b = b; this.c = c;
        this.aRowStride = aRowStride; this.aColStride = aColStride;
        this.m = m; this.n = n; this.k = k; this.accumulate = accumulate;
        return this;
    }

    void run() { pool.parallelFor((m + RB - 1) / RB, this); }

    @Override public void run(int from, int to, int thread) {
        rows(a, aRowStride, aColStride, b, c, from * RB, Math.min(m, to * RB), n, k, accumulate);
    }

    /** Single-threaded {@code C (+)= A·B} over rows [i0, i1). */
    static void rows(float[] a, int ars, int acs, float[] b, float[] c, int i0, int i1, int n, int k, boolean acc) {
        int j = 0;
        for (; j + 4 * L <= n; j += 4 * L) {
            int i = i0;
            for (; i + RB <= i1; i += RB) tile4x4(a, ars, acs, b, c, i, j, n, k, acc);
            for (; i < i1; i++) tile1x4(a, ars, acs, b, c, i, j, n, k, acc);
        }
        for (; j + L <= n; j += L) {
            int i = i0;
            for (; i + RB <= i1; i += RB) tile4x1(a, ars, acs, b, c, i, j, n, k, acc);
            for (; i < i1; i++) tile1x1(a, ars, acs, b, c, i, j, n, k, acc);
        }
        for (; j < n; j++) {
            for (int i = i0; i < i1; i++) {
                float s = acc ? c[i * n + j] : 0f;
                int ai = i * ars;
                for (int kk = 0, bo = j; kk < k; kk++, bo += n) s += a[ai + kk * acs] * b[bo];
                c[i * n + j] = s;
            }
        }
    }

    private static void tile4x4(float[] a, int ars, int acs, float[] b, float[] c, int i, int j, int n, int k, boolean acc) {
        int c0 = i * n + j, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        FloatVector s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33;
        if (acc) {
            s00 = FloatVector.fromArray(S, c, c0); s01 = FloatVector.fromArray(S, c, c0 + L);
            s02 = FloatVector.fromArray(S, c, c0 + 2 * L); s03 = FloatVector.fromArray(S, c, c0 + 3 * L);
            s10 = FloatVector.fromArray(S, c, c1); s11 = FloatVector.fromArray(S, c, c1 + L);
            s12 = FloatVector.fromArray(S, c, c1 + 2 * L); s13 = FloatVector.fromArray(S, c, c1 + 3 * L);
            s20 = FloatVector.fromArray(S, c, c2); s21 = FloatVector.fromArray(S, c, c2 + L);
            s22 = FloatVector.fromArray(S, c, c2 + 2 * L); s23 = FloatVector.fromArray(S, c, c2 + 3 * L);
            s30 = FloatVector.fromArray(S, c, c3); s31 = FloatVector.fromArray(S, c, c3 + L);
            s32 = FloatVector.fromArray(S, c, c3 + 2 * L); s33 = FloatVector.fromArray(S, c, c3 + 3 * L);
        } else {
            FloatVector z = FloatVector.zero(S);
            s00 = z; s01 = z; s02 = z; s03 = z; s10 = z; s11 = z; s12 = z; s13 = z;
            s20 = z; s21 = z; s22 = z; s23 = z; s30 = z; s31 = z; s32 = z; s33 = z;
        }
        int a0 = i * ars, a1 = a0 + ars, a2 = a1 + ars, a3 = a2 + ars;
        int bo = j;
        for (int kk = 0, ak = 0; kk < k; kk++, ak += acs, bo += n) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector b2 = FloatVector.fromArray(S, b, bo + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, b, bo + 3 * L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + ak]);
            s00 = b0.fma(x, s00); s01 = b1.fma(x, s01); s02 = b2.fma(x, s02); s03 = b3.fma(x, s03);
            x = FloatVector.broadcast(S, a[a1 + ak]);
            s10 = b0.fma(x, s10); s11 = b1.fma(x, s11); s12 = b2.fma(x, s12); s13 = b3.fma(x, s13);
            x = FloatVector.broadcast(S, a[a2 + ak]);
            s20 = b0.fma(x, s20); s21 = b1.fma(x, s21); s22 = b2.fma(x, s22); s23 = b3.fma(x, s23);
            x = FloatVector.broadcast(S, a[a3 + ak]);
            s30 = b0.fma(x, s30); s31 = b1.fma(x, s31); s32 = b2.fma(x, s32); s33 = b3.fma(x, s33);
        }
        s00.intoArray(c, c0); s01.intoArray(c, c0 + L); s02.intoArray(c, c0 + 2 * L); s03.intoArray(c, c0 + 3 * L);
        s10.intoArray(c, c1); s11.intoArray(c, c1 + L); s12.intoArray(c, c1 + 2 * L); s13.intoArray(c, c1 + 3 * L);
        s20.intoArray(c, c2); s21.intoArray(c, c2 + L); s22.intoArray(c, c2 + 2 * L); s23.intoArray(c, c2 + 3 * L);
        s30.intoArray(c, c3); s31.intoArray(c, c3 + L); s32.intoArray(c, c3 + 2 * L); s33.intoArray(c, c3 + 3 * L);
    }

    private static void tile1x4(float[] a, int ars, int acs, float[] b, float[] c, int i, int j, int n, int k, boolean acc) {
        int c0 = i * n + j;
        FloatVector s0, s1, s2, s3;
        if (acc) {
            s0 = FloatVector.fromArray(S, c, c0); s1 = FloatVector.fromArray(S, c, c0 + L);
            s2 = FloatVector.fromArray(S, c, c0 + 2 * L); s3 = FloatVector.fromArray(S, c, c0 + 3 * L);
        } else {
            s0 = FloatVector.zero(S); s1 = s0; s2 = s0; s3 = s0;
        }
        int a0 = i * ars, bo = j;
        for (int kk = 0, ak = 0; kk < k; kk++, ak += acs, bo += n) {
            FloatVector x = FloatVector.broadcast(S, a[a0 + ak]);
            s0 = FloatVector.fromArray(S, b, bo).fma(x, s0);
            s1 = FloatVector.fromArray(S, b, bo + L).fma(x, s1);
            s2 = FloatVector.fromArray(S, b, bo + 2 * L).fma(x, s2);
            s3 = FloatVector.fromArray(S, b, bo + 3 * L).fma(x, s3);
        }
        s0.intoArray(c, c0); s1.intoArray(c, c0 + L); s2.intoArray(c, c0 + 2 * L); s3.intoArray(c, c0 + 3 * L);
    }

    private static void tile4x1(float[] a, int ars, int acs, float[] b, float[] c, int i, int j, int n, int k, boolean acc) {
        int c0 = i * n + j, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        FloatVector s0, s1, s2, s3;
        if (acc) {
            s0 = FloatVector.fromArray(S, c, c0); s1 = FloatVector.fromArray(S, c, c1);
            s2 = FloatVector.fromArray(S, c, c2); s3 = FloatVector.fromArray(S, c, c3);
        } else {
            s0 = FloatVector.zero(S); s1 = s0; s2 = s0; s3 = s0;
        }
        int a0 = i * ars, a1 = a0 + ars, a2 = a1 + ars, a3 = a2 + ars, bo = j;
        for (int kk = 0, ak = 0; kk < k; kk++, ak += acs, bo += n) {
            FloatVector bv = FloatVector.fromArray(S, b, bo);
            s0 = bv.fma(FloatVector.broadcast(S, a[a0 + ak]), s0);
            s1 = bv.fma(FloatVector.broadcast(S, a[a1 + ak]), s1);
            s2 = bv.fma(FloatVector.broadcast(S, a[a2 + ak]), s2);
            s3 = bv.fma(FloatVector.broadcast(S, a[a3 + ak]), s3);
        }
        s0.intoArray(c, c0); s1.intoArray(c, c1); s2.intoArray(c, c2); s3.intoArray(c, c3);
    }

    private static void tile1x1(float[] a, int ars, int acs, float[] b, float[] c, int i, int j, int n, int k, boolean acc) {
        int c0 = i * n + j;
        FloatVector s0 = acc ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        int a0 = i * ars, bo = j;
        for (int kk = 0, ak = 0; kk < k; kk++, ak += acs, bo += n)
            s0 = FloatVector.fromArray(S, b, bo).fma(FloatVector.broadcast(S, a[a0 + ak]), s0);
        s0.intoArray(c, c0);
    }

    /** {@code dst[c][r] = src[r][c]} for a rows×cols row-major {@code src}. */
    static void transpose(float[] src, int rows, int cols, float[] dst) {
        for (int r0 = 0; r0 < rows; r0 += 16) {
            int r1 = Math.min(rows, r0 + 16);
            for (int c0 = 0; c0 < cols; c0 += 16) {
                int c1 = Math.min(cols, c0 + 16);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
            }
        }
    }
}
