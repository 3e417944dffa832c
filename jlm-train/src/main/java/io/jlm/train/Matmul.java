package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A reusable FP32 matrix-multiply task: {@code C[M,N] (+)= A[M,K] · B[K,N]}, each operand addressed by an offset
 * and strides (the general {@code set}), so transposed operands and slices of wider matrices need no copies.
 *
 * <p>The operands are first packed (as in GotoBLAS): A into blocks of {@code MR} rows stored k-major
 * ({@code [k][MR]}), B into panels of {@code tile.vecs} vectors of columns ({@code [k][width]}), zero-padded at
 * the edges. The kernel then keeps an MR × width tile of C in registers while k runs, reading A and B
 * sequentially (one broadcast per row and one vector load per column vector per k), whatever the strides were.
 * The tile fits the register file: 4 rows × 2 vectors where vectors are 256 bits wide (AVX2, 16 registers: 8
 * accumulators, 2 loads of B and the 4 broadcasts of A, which C2 hoists to the top of the loop; 4×4, 6×2 and 5×2
 * tiles all spilled an accumulator to the stack every iteration and ran at 30-55 % of the 4×2 speed inside a
 * training step), 4 × 4 where they are 512 bits wide (32 registers). Each element of C is still summed over k in order from its old
 * value, so every tile shape gives the same bits. Work is split over the pool's threads in units of
 * (row chunk of 128 rows, column panel), chunk-major: a thread keeps its rows of packed A in cache while the B
 * panels pass, and small products still give every thread several units.
 *
 * <p>A task object is configured ({@link #set}) and run ({@link #run()}) many times; the packing buffers grow to
 * the largest shape seen and are then reused, so running allocates nothing.
 */
final class Matmul implements ThreadPool.RangeBody {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    /** Rows of C per register tile (both tiles). */
    static final int MR = 4;

    /** The register tile: {@link #MR} rows of C × vectors of C held in registers. */
    enum Tile {
        R4V2(2), R4V4(4);
        final int vecs;
        Tile(int vecs) { this.vecs = vecs; }
    }

    /** 256-bit vectors: assume 16 vector registers (AVX2). */
    static final Tile DEFAULT = S.vectorBitSize() <= 256 ? Tile.R4V2 : Tile.R4V4;

    private final ThreadPool pool;     // null: the calling thread does all the work
    private final Tile tile;
    private final int width;           // columns per panel of B
    private final float[][] edge;      // per thread: one tile of C for the zero-padded edges
    private float[] ap = new float[0], bp = new float[0];
    private float[] a, b, c;
    private int ao, ars, acs, bo, brs, bcs, co, ldc, m, n, k, blocks, panels, chunks;
    private boolean accumulate, packing;
    private Triangle triangle = Triangle.NONE;

    /** Known structure that lets whole tiles or parts of K be skipped (attention's causal products). */
    enum Triangle {
        NONE,
        /** Only C[i][j] with j <= i is wanted: tiles wholly above the diagonal are not computed (left as they were). */
        C_LOWER,
        /** A[i][kk] = 0 for kk > i: each row block stops K after its last row. */
        A_LOWER,
        /** A[i][kk] = 0 for kk < i: each row block starts K at its first row. */
        A_UPPER
    }

    Matmul(ThreadPool pool) { this(pool, DEFAULT); }

    Matmul(ThreadPool pool, Tile tile) {
        this.pool = pool;
        this.tile = tile;
        width = tile.vecs * L;
        edge = new float[pool == null ? 1 : pool.threads()][MR * width];
    }

    /** {@code C (+)= A·B} with {@code A[M,K]} strided as described above, B and C row-major and dense. */
    Matmul set(float[] a, int aRowStride, int aColStride, float[] b, float[] c, int m, int n, int k, boolean accumulate) {
        return set(a, 0, aRowStride, aColStride, b, 0, n, 1, c, 0, n, m, n, k, accumulate);
    }

    /**
     * The general form: A(i,k) at {@code a[ao + i*ars + k*acs]}, B(k,j) at {@code b[bo + k*brs + j*bcs]} (so a
     * transposed B needs no copy), C(i,j) at {@code c[co + i*ldc + j]}.
     */
    Matmul set(float[] a, int ao, int ars, int acs, float[] b, int bo, int brs, int bcs, float[] c, int co, int ldc,
               int m, int n, int k, boolean accumulate) {
        this.a = a; this.b = b; this.c = c;
        this.ao = ao; this.ars = ars; this.acs = acs;
        this.bo = bo; this.brs = brs; this.bcs = bcs;
        this.co = co; this.ldc = ldc;
        this.m = m; this.n = n; this.k = k; this.accumulate = accumulate;
        triangle = Triangle.NONE;
        blocks = (m + MR - 1) / MR;
        panels = (n + width - 1) / width;
        int threads = pool == null ? 1 : pool.threads();
        // row chunks of 32 blocks (128 rows), at least 4 units per thread; units run chunk-major, so each thread
        // keeps its rows of packed A in cache while the B panels pass
        chunks = Math.max(Math.max(1, blocks / 32), Math.min(blocks, (4 * threads + panels - 1) / panels));
        if (ap.length < blocks * MR * k) ap = new float[blocks * MR * k];
        if (bp.length < panels * width * k) bp = new float[panels * width * k];
        return this;
    }

    /** Declares a triangular structure for the next {@link #run()} (reset by {@link #set}). */
    Matmul triangle(Triangle t) { triangle = t; return this; }

    void run() {
        if (pool == null) {
            packing = true; run(0, Math.max(blocks, panels), 0);
            packing = false; run(0, panels * chunks, 0);
        } else {
            packing = true; pool.parallelFor(Math.max(blocks, panels), this);
            packing = false; pool.parallelFor(panels * chunks, this);
        }
    }

    @Override public void run(int from, int to, int thread) {
        if (packing) {
            // units [from, to) of max(blocks, panels): the same share of the A blocks and of the B panels
            long units = Math.max(blocks, panels);
            for (int q = (int) (from * blocks / units), q1 = (int) (to * blocks / units); q < q1; q++) packA(q);
            packB((int) (from * panels / units), (int) (to * panels / units));
            return;
        }
        float[] e = edge[thread];
        for (int u = from; u < to; u++) {
            int p = u % panels, ch = u / panels, j = p * width, cols = Math.min(width, n - j), po = p * width * k;
            int q0 = blocks * ch / chunks, q1 = blocks * (ch + 1) / chunks;
            int full = cols < width ? q0 : Math.min(q1, m / MR);        // blocks [q0, full) are whole tiles
            for (int q = q0; q < q1; q++) {
                int i = q * MR, k0 = 0, k1 = k;
                switch (triangle) {
                    case NONE -> { }
                    case C_LOWER -> { if (j > i + MR - 1) continue; }
                    case A_LOWER -> k1 = Math.min(k, i + MR);
                    case A_UPPER -> k0 = Math.min(k, i);
                }
                int qa = q * MR * k + k0 * MR, pb = po + k0 * width, ci = co + i * ldc + j;
                if (q < full) {
                    kernel(ap, qa, bp, pb, k1 - k0, c, ci, ldc, accumulate);
                } else {                                 // edge tile: through a full-size copy (padding not copied back)
                    int rs = Math.min(MR, m - i);
                    if (accumulate) for (int r = 0; r < rs; r++) System.arraycopy(c, ci + r * ldc, e, r * width, cols);
                    kernel(ap, qa, bp, pb, k1 - k0, e, 0, width, accumulate);
                    for (int r = 0; r < rs; r++) System.arraycopy(e, r * width, c, ci + r * ldc, cols);
                }
            }
        }
    }

    private void kernel(float[] ap, int ao, float[] bp, int bo, int k, float[] c, int co, int ldc, boolean acc) {
        switch (tile) {
            case R4V2 -> VectorMath.gemmTile4x2(ap, ao, bp, bo, k, c, co, ldc, acc);
            case R4V4 -> kernel4x4(ap, ao, bp, bo, k, c, co, ldc, acc);
        }
    }

    /** Rows [i, i+MR) of A as {@code ap[q*MR*k + kk*MR + r]}, zero past row m. */
    private void packA(int q) {
        int i = q * MR, o = q * MR * k, rs = Math.min(MR, m - i);
        if (rs == MR) {                                   // four rows read side by side, written in order
            int s0 = ao + i * ars, s1 = s0 + ars, s2 = s1 + ars, s3 = s2 + ars;
            for (int kk = 0, d = o, x = 0; kk < k; kk++, d += MR, x += acs) {
                ap[d] = a[s0 + x]; ap[d + 1] = a[s1 + x]; ap[d + 2] = a[s2 + x]; ap[d + 3] = a[s3 + x];
            }
            return;
        }
        for (int r = 0; r < MR; r++) {
            if (r < rs) {
                for (int kk = 0, src = ao + (i + r) * ars; kk < k; kk++, src += acs) ap[o + kk * MR + r] = a[src];
            } else {
                for (int kk = 0; kk < k; kk++) ap[o + kk * MR + r] = 0f;
            }
        }
    }

    /**
     * Panels [p0, p1) of B: columns [p*width, (p+1)*width) as {@code bp[p*width*k + kk*width + x]}, zero past
     * column n. Whole panels of a row-major B are copied a row of B at a time (B read in order: panel by panel,
     * the strided reads ran at a few GB/s).
     */
    private void packB(int p0, int p1) {
        int whole = bcs == 1 ? Math.max(p0, Math.min(p1, n / width)) : p0;
        for (int kk = 0, src = bo; kk < k; kk++, src += brs)
            for (int p = p0, dst = p0 * width * k + kk * width; p < whole; p++, dst += width * k)
                for (int v = 0; v < width; v += L) FloatVector.fromArray(S, b, src + p * width + v).intoArray(bp, dst + v);
        for (int p = whole; p < p1; p++) {
            int j = p * width, o = p * width * k, cols = Math.min(width, n - j);
            for (int x = 0; x < width; x++) {
                if (x < cols) {
                    for (int kk = 0, src = bo + (j + x) * bcs; kk < k; kk++, src += brs) bp[o + kk * width + x] = b[src];
                } else {
                    for (int kk = 0; kk < k; kk++) bp[o + kk * width + x] = 0f;
                }
            }
        }
    }

    private static void kernel4x4(float[] ap, int ao, float[] bp, int bo, int k, float[] c, int c0, int ldc, boolean acc) {
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
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
        for (int kk = 0; kk < k; kk++, ao += 4, bo += 4 * L) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bo);
            FloatVector b1 = FloatVector.fromArray(S, bp, bo + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bo + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, bp, bo + 3 * L);
            FloatVector x = FloatVector.broadcast(S, ap[ao]);
            s00 = b0.fma(x, s00); s01 = b1.fma(x, s01); s02 = b2.fma(x, s02); s03 = b3.fma(x, s03);
            x = FloatVector.broadcast(S, ap[ao + 1]);
            s10 = b0.fma(x, s10); s11 = b1.fma(x, s11); s12 = b2.fma(x, s12); s13 = b3.fma(x, s13);
            x = FloatVector.broadcast(S, ap[ao + 2]);
            s20 = b0.fma(x, s20); s21 = b1.fma(x, s21); s22 = b2.fma(x, s22); s23 = b3.fma(x, s23);
            x = FloatVector.broadcast(S, ap[ao + 3]);
            s30 = b0.fma(x, s30); s31 = b1.fma(x, s31); s32 = b2.fma(x, s32); s33 = b3.fma(x, s33);
        }
        s00.intoArray(c, c0); s01.intoArray(c, c0 + L); s02.intoArray(c, c0 + 2 * L); s03.intoArray(c, c0 + 3 * L);
        s10.intoArray(c, c1); s11.intoArray(c, c1 + L); s12.intoArray(c, c1 + 2 * L); s13.intoArray(c, c1 + 3 * L);
        s20.intoArray(c, c2); s21.intoArray(c, c2 + L); s22.intoArray(c, c2 + 2 * L); s23.intoArray(c, c2 + 3 * L);
        s30.intoArray(c, c3); s31.intoArray(c, c3 + L); s32.intoArray(c, c3 + 2 * L); s33.intoArray(c, c3 + 3 * L);
    }
}
