package io.jlm.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Shared pieces of the ggml K-quant kernels (super-blocks of {@value #QK_K} elements): vector species,
 * little-endian accessors, the 6-bit scale/min unpacking of Q4_K/Q5_K, and the reference fitting routines
 * used by the quantizers (weighted least-squares scale/min search in the style of ggml's
 * {@code make_qkx2_quants}, {@code make_q3_quants} and {@code make_qx_quants}).
 */
final class KQuants {
    private KQuants() {}

    static final int QK_K = 256;

    /** Float species of the dot kernels (at most 16 lanes: sub-blocks are 16 elements). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() > 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Whether the vector kernels are used (needs 8 or 16 float lanes). */
    static final boolean VEC = L == 8 || L == 16;
    /** Byte species with as many lanes as {@link #F}. */
    static final VectorSpecies<Byte> B = VEC ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    /** Int species with as many lanes as {@link #F}. */
    static final VectorSpecies<Integer> I = VEC ? VectorSpecies.of(int.class, F.vectorShape()) : null;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    static final float GROUP_MAX_EPS = 1e-15f;

    static int superBlocks(String type, int n) {
        if (n < 0 || n % QK_K != 0) {
            throw new IllegalArgumentException(type + ": element count " + n + " is not a multiple of " + QK_K);
        }
        return n / QK_K;
    }

    static float f16(MemorySegment seg, long off) {
        return Float.float16ToFloat(seg.get(SHORT_LE, off));
    }

    static int u8(MemorySegment seg, long off) {
        return seg.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /**
     * 6-bit scale {@code j} (0..7) of the 12-byte Q4_K/Q5_K scales field, given its bytes 0..7 as {@code lo}
     * (little-endian long) and bytes 8..11 as {@code hi}.
     */
    static int scaleK4(long lo, int hi, int j) {
        if (j < 4) return (int) (lo >>> (8 * j)) & 63;
        int low4 = (hi >>> (8 * (j - 4))) & 0x0F;
        int high2 = ((int) (lo >>> (8 * (j - 4))) & 0xFF) >>> 6;
        return low4 | (high2 << 4);
    }

    /** 6-bit min {@code j} (0..7) of the 12-byte Q4_K/Q5_K scales field (see {@link #scaleK4}). */
    static int minK4(long lo, int hi, int j) {
        if (j < 4) return (int) (lo >>> (8 * (j + 4))) & 63;
        int low4 = ((hi >>> (8 * (j - 4))) & 0xFF) >>> 4;
        int high2 = ((int) (lo >>> (8 * j)) & 0xFF) >>> 6;
        return low4 | (high2 << 4);
    }

    /**
     * Signed scale {@code j} (0..15, already minus 32) of the 12-byte Q3_K scales field, given its bytes 0..7 as
     * {@code lo} (little-endian long) and bytes 8..11 as {@code hi}: the low 4 bits are the low nibble of byte j
     * (j&lt;8) or the high nibble of byte j-8; the high 2 bits are bits 2*(j/4)..+1 of byte 8 + j%4.
     */
    static int scaleK3(long lo, int hi, int j) {
        int low4 = j < 8 ? (int) (lo >>> (8 * j)) & 0x0F : (int) (lo >>> (8 * (j - 8) + 4)) & 0x0F;
        int high2 = (hi >>> (8 * (j & 3) + 2 * (j >>> 2))) & 3;
        return (low4 | (high2 << 4)) - 32;
    }

    /** Packs 8 six-bit scales and mins into the 12-byte Q4_K/Q5_K layout at {@code off}. */
    static void packScalesK4(int[] ls, int[] lm, MemorySegment dst, long off) {
        byte[] s = new byte[12];
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                s[j] = (byte) ls[j];
                s[j + 4] = (byte) lm[j];
            } else {
                s[j + 4] = (byte) ((ls[j] & 0x0F) | ((lm[j] & 0x0F) << 4));
                s[j - 4] |= (byte) ((ls[j] >>> 4) << 6);
                s[j] |= (byte) ((lm[j] >>> 4) << 6);
            }
        }
        MemorySegment.copy(s, 0, dst, ValueLayout.JAVA_BYTE, off, 12);
    }

    /** Round half to even, like ggml's {@code nearest_int}. */
    static int nearestInt(float f) {
        return (int) Math.rint(f);
    }

    static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    /**
     * Fits {@code x[i] ~= scale * L[i] - theMin} with integer {@code L[i]} in [0, nmax], minimizing the weighted
     * squared (or absolute, {@code useMad}) error; first a plain min/max fit, then {@code nstep} trial inverse
     * scales {@code (nmax + rmin + rdelta*is) / (max - min)} each refined by a weighted least-squares solve for
     * scale and min. The min is forced to be {@code <= 0} (so {@code theMin >= 0}).
     *
     * @return the scale; {@code mins[minIdx]} receives {@code theMin}
     */
    static float fitScaleMin(int n, int nmax, float[] x, int xo, float[] w, int[] lOut, int lo,
                             int[] laux, float rmin, float rdelta, int nstep, boolean useMad,
                             float[] mins, int minIdx) {
        float min = x[xo], max = x[xo];
        float sumW = w[0], sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            float v = x[xo + i];
            if (v < min) min = v;
            if (v > max) max = v;
            sumW += w[i];
            sumX += w[i] * v;
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) lOut[lo + i] = 0;
            mins[minIdx] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1f / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp(nearestInt(iscale * (x[xo + i] - min)), 0, nmax);
            lOut[lo + i] = l;
            float diff = scale * l + min - x[xo + i];
            bestError += w[i] * (useMad ? Math.abs(diff) : diff * diff);
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = clamp(nearestInt(iscale * (x[xo + i] - min)), 0, nmax);
                laux[i] = l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXL += w[i] * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float err = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * laux[i] + thisMin - x[xo + i];
                    err += w[i] * (useMad ? Math.abs(diff) : diff * diff);
                }
                if (err < bestError) {
                    System.arraycopy(laux, 0, lOut, lo, n);
                    bestError = err;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        mins[minIdx] = -min;
        return scale;
    }

    /**
     * Symmetric fit {@code x[i] ~= scale * l} with l in [-nmax, nmax-1] for Q3_K: start from the value of
     * largest magnitude mapped to -nmax, then (x^2-weighted) coordinate-descent refinement of each l.
     * Returns the scale (0 for an all-zero group).
     */
    static float fitSymmetricIterative(int n, int nmax, float[] x, int xo, int[] l) {
        float max = Blocks.signedAbsMax(x, xo, n), amax = Math.abs(max);
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) l[i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            int q = clamp(nearestInt(iscale * v), -nmax, nmax - 1);
            l[i] = q;
            float w = v * v;
            sumlx += w * v * q;
            suml2 += w * q * q;
        }
        for (int itry = 0; itry < 5; itry++) {
            int changed = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                float w = v * v;
                float slx = sumlx - w * v * l[i];
                if (slx > 0) {
                    float sl2 = suml2 - w * l[i] * l[i];
                    int nl = clamp(nearestInt(v * sl2 / slx), -nmax, nmax - 1);
                    if (nl != l[i]) {
                        slx += w * v * nl;
                        sl2 += w * nl * nl;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            l[i] = nl;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0) break;
        }
        return suml2 > 0 ? sumlx / suml2 : 0f;
    }

    /**
     * Symmetric fit {@code x[i] ~= scale * l} with l in [-nmax, nmax-1] for Q6_K: tries inverse scales
     * {@code -(nmax + 0.1*is)/max} for is in [-9, 9] and keeps the best x^2-weighted least-squares scale.
     */
    static float fitSymmetricSearch(int n, int nmax, float[] x, int xo) {
        float max = Blocks.signedAbsMax(x, xo, n), amax = Math.abs(max);
        if (amax < GROUP_MAX_EPS) return 0f;
        float bestScale = 0, best = 0;
        for (int t = 0; t <= 19; t++) {
            int is = t == 0 ? 0 : t - 10; // is = 0 first, then -9..9 skipping 0
            if (t > 0 && is == 0) continue;
            float iscale = -(nmax + 0.1f * is) / max;
            float sumlx = 0, suml2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                int q = clamp(nearestInt(iscale * v), -nmax, nmax - 1);
                float w = v * v;
                sumlx += w * v * q;
                suml2 += w * q * q;
            }
            if (t == 0) {
                if (suml2 > 0) {
                    bestScale = sumlx / suml2;
                    best = bestScale * sumlx;
                }
            } else if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                bestScale = sumlx / suml2;
                best = bestScale * sumlx;
            }
        }
        return bestScale;
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[QK_K]);

    /** Portable dot for machines without 8/16-lane float vectors: dequantizes one super-block at a time. */
    static float dotByDequantize(WeightKernel k, int blockBytes, MemorySegment seg, long offset,
                                 float[] x, int xOff, int n) {
        int nb = superBlocks(k.type().name(), n);
        float[] buf = SCRATCH.get();
        float s = 0;
        for (int b = 0; b < nb; b++) {
            k.dequantize(seg, offset + (long) b * blockBytes, buf, 0, QK_K);
            int xb = xOff + b * QK_K;
            for (int i = 0; i < QK_K; i++) s += buf[i] * x[xb + i];
        }
        return s;
    }
}
