package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Kernel for {@link GGMLType#BF16}: little-endian bfloat16 rows (the high 16 bits of a float32). */
public final class BF16Kernel implements WeightKernel {
    public static final BF16Kernel INSTANCE = new BF16Kernel();

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final boolean VEC = L >= 4;
    private static final VectorSpecies<Integer> I = VEC ? VectorSpecies.of(int.class, F.vectorShape()) : null;
    private static final VectorSpecies<Short> S = VEC ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : null;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private BF16Kernel() {}

    @Override public GGMLType type() { return GGMLType.BF16; }

    @Override public void dequantize(MemorySegment seg, long offset, float[] out, int outOff, int n) {
        int i = 0;
        if (VEC) {
            for (; i <= n - L; i += L) {
                ((IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(out, outOff + i);
            }
        }
        for (; i < n; i++) out[outOff + i] = Half.bf16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i));
    }

    @Override public float dot(MemorySegment seg, long offset, float[] x, int xOff, int n) {
        int i = 0;
        float s = 0f;
        if (VEC) {
            FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
            for (; i <= n - 2 * L; i += 2 * L) {
                long p = offset + 2L * i;
                FloatVector w0 = ((IntVector) ShortVector.fromMemorySegment(S, seg, p, LE).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                FloatVector w1 = ((IntVector) ShortVector.fromMemorySegment(S, seg, p + 2L * L, LE).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                a0 = w0.fma(FloatVector.fromArray(F, x, xOff + i), a0);
                a1 = w1.fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
            }
            s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) s += Half.bf16ToFloat(seg.get(Half.SHORT_LE, offset + 2L * i)) * x[xOff + i];
        return s;
    }

    @Override public void quantize(float[] src, int srcOff, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(Half.SHORT_LE, offset + 2L * i, Half.floatToBf16(src[srcOff + i]));
    }

    /** Register-blocked: each converted weight vector is used for 4 activation rows. */
    @Override public void matmul(MemorySegment seg, long offset, long rowBytes, int rowFrom, int rowTo, int cols,
                                 float[] x, int batch, float[] out, int outStride, float[] scratch) {
        if (!VEC) {
            WeightKernel.super.matmul(seg, offset, rowBytes, rowFrom, rowTo, cols, x, batch, out, outStride, scratch);
            return;
        }
        int tile = MatmulTiles.batchTile(cols);
        for (int bt = 0; bt < batch; bt += tile) {
            int bEnd = Math.min(batch, bt + tile);
            for (int r = rowFrom; r < rowTo; r++) {
                long ro = offset + r * rowBytes;
                int b = bt;
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
            FloatVector w = ((IntVector) ShortVector.fromMemorySegment(S, seg, ro + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            a0 = w.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = w.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float w = Half.bf16ToFloat(seg.get(Half.SHORT_LE, ro + 2L * i));
            s0 += w * x[x0 + i];
            s1 += w * x[x1 + i];
            s2 += w * x[x2 + i];
            s3 += w * x[x3 + i];
        }
        Blocks.store4(out, b, outStride, r, s0, s1, s2, s3);
    }
}
