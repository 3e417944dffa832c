package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Kernel for {@link GGMLType#F32}: little-endian float32 rows. */
public final class F32Kernel implements WeightKernel {
    public static final F32Kernel INSTANCE = new F32Kernel();

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private F32Kernel() {}

    @Override public GGMLType type() { return GGMLType.F32; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        MemorySegment.copy(seg, Half.FLOAT_LE, offset, out, outOff, n);
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int i = 0;
        int bound4 = n - 4 * L;
        for (; i <= bound4; i += 4 * L) {
            long p = offset + 4L * i;
            a0 = FloatVector.fromMemorySegment(F, seg, p, LE).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = FloatVector.fromMemorySegment(F, seg, p + 4L * L, LE).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
            a2 = FloatVector.fromMemorySegment(F, seg, p + 8L * L, LE).fma(FloatVector.fromArray(F, x, xOff + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, seg, p + 12L * L, LE).fma(FloatVector.fromArray(F, x, xOff + i + 3 * L), a3);
        }
        for (; i <= n - L; i += L) {
            a0 = FloatVector.fromMemorySegment(F, seg, offset + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), a0);
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += seg.get(Half.FLOAT_LE, offset + 4L * i) * x[xOff + i];
        return s;
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        MemorySegment.copy(src, srcOff, dst, Half.FLOAT_LE, offset, n);
    }

    /** Register-blocked: 4 activation rows per pass over a weight row; weight rows stay cache-hot across batch tiles. */
    @Override public void matmul(MemorySegment seg, long offset, long rowBytes, int rowFrom, int rowTo, int cols,
                                 float[] x, int batch, float[] out, int outStride, float[] scratch) {
        int tile = MatmulTiles.batchTile(cols);
        for (int b0 = 0; b0 < batch; b0 += tile) {
            int bEnd = Math.min(batch, b0 + tile);
            for (int r = rowFrom; r < rowTo; r++) {
                long ro = offset + r * rowBytes;
                int b = b0;
                for (; b + 4 <= bEnd; b += 4) {
                    dot4(seg, ro, cols, x, b, out, outStride, r);
                }
                for (; b < bEnd; b++) out[b * outStride + r] = dot(seg, ro, x, b * cols, cols);
            }
        }
    }

    /** out[(b+k)*outStride + r] = W[r,:] . x[(b+k)*cols ..] for k in 0..3 (a separate method so that it is
     *  invoked often and gets a normal (not OSR) JIT compilation even on the first long matmul call). */
    private static void dot4(MemorySegment seg, long ro, int cols, float[] x, int b, float[] out, int outStride, int r) {
        int x0 = b * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int i = 0;
        for (; i <= cols - L; i += L) {
            FloatVector w = FloatVector.fromMemorySegment(F, seg, ro + 4L * i, LE);
            a0 = w.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = w.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float w = seg.get(Half.FLOAT_LE, ro + 4L * i);
            s0 += w * x[x0 + i];
            s1 += w * x[x1 + i];
            s2 += w * x[x2 + i];
            s3 += w * x[x3 + i];
        }
        Blocks.store4(out, b, outStride, r, s0, s1, s2, s3);
    }
}
