package io.jlm.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Float32 vector primitives shared by kernels and model code. */
public final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private VectorMath() {}

    /**
     * The packed GEMM micro-kernel: {@code c[co + j*ldc + v] (+)= sum_i a[ao + 4i + j] * b[bo + 2L*i + v]} for
     * rows j < 4 and columns v < 2L (L = lanes of the preferred species): a 4-row block of A stored k-major times a
     * panel of B two vectors wide, over k steps, each output one FMA chain in order (continued from C when
     * {@code acc}). 8 accumulators, 2 loads of B and the 4 broadcasts of A (C2 hoists them to the top of the loop)
     * fit the 16 vector registers of AVX2; wider tiles spilled accumulators to the stack there. Used by the prefill
     * GEMM and by the trainer's matmul.
     */
    public static void gemmTile4x2(float[] a, int ao, float[] b, int bo, int k, float[] c, int co, int ldc, boolean acc) {
        int L = F.length(), c1 = co + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector s00, s01, s10, s11, s20, s21, s30, s31;
        if (acc) {
            s00 = FloatVector.fromArray(F, c, co); s01 = FloatVector.fromArray(F, c, co + L);
            s10 = FloatVector.fromArray(F, c, c1); s11 = FloatVector.fromArray(F, c, c1 + L);
            s20 = FloatVector.fromArray(F, c, c2); s21 = FloatVector.fromArray(F, c, c2 + L);
            s30 = FloatVector.fromArray(F, c, c3); s31 = FloatVector.fromArray(F, c, c3 + L);
        } else {
            FloatVector z = FloatVector.zero(F);
            s00 = z; s01 = z; s10 = z; s11 = z; s20 = z; s21 = z; s30 = z; s31 = z;
        }
        for (int i = 0; i < k; i++, ao += 4, bo += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(F, b, bo);
            FloatVector b1 = FloatVector.fromArray(F, b, bo + L);
            FloatVector x = FloatVector.broadcast(F, a[ao]);
            s00 = b0.fma(x, s00); s01 = b1.fma(x, s01);
            x = FloatVector.broadcast(F, a[ao + 1]);
            s10 = b0.fma(x, s10); s11 = b1.fma(x, s11);
            x = FloatVector.broadcast(F, a[ao + 2]);
            s20 = b0.fma(x, s20); s21 = b1.fma(x, s21);
            x = FloatVector.broadcast(F, a[ao + 3]);
            s30 = b0.fma(x, s30); s31 = b1.fma(x, s31);
        }
        s00.intoArray(c, co); s01.intoArray(c, co + L);
        s10.intoArray(c, c1); s11.intoArray(c, c1 + L);
        s20.intoArray(c, c2); s21.intoArray(c, c2 + L);
        s30.intoArray(c, c3); s31.intoArray(c, c3 + L);
    }

    /** sum a[aOff+i]*b[bOff+i], i in [0,n). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int step = F.length();
        int bound2 = n - 2 * step;
        for (; i <= bound2; i += 2 * step) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + step).fma(FloatVector.fromArray(F, b, bOff + i + step), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }
}
