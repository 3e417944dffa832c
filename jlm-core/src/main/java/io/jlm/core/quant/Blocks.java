package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/**
 * Shared constants and cold helpers of the 32-element block kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0). Only scalar
 * helpers live here: the hot loops stay one method per kernel (passing vectors to a helper that is not inlined
 * would box them).
 */
final class Blocks {
    private Blocks() {}

    /** Float species of the block kernels. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Byte species with as many lanes as {@link #F} (null when that is not 64 to 256 bits). */
    static final VectorSpecies<Byte> B = L >= 8 && L <= 32 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Fixed 256-bit species of the integer dot kernels ({@link WeightKernel#dotQ8}): 16 bytes widen to 16 shorts. */
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    /** The number of {@code qk}-element blocks in {@code n} elements; {@code n} must be a multiple of {@code qk}. */
    static int count(GGMLType type, int n, int qk) {
        if (n % qk != 0) throw new IllegalArgumentException(type + ": element count " + n + " is not a multiple of " + qk);
        return n / qk;
    }

    /** 1/d, or 0 for d == 0 (ggml's {@code id}). */
    static float inverse(float d) {
        return d != 0f ? 1f / d : 0f;
    }

    /** The value of {@code src[s .. s+n)} with the largest magnitude (the first one on ties; 0 if all are 0). */
    static float signedAbsMax(float[] src, int s, int n) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < n; j++) {
            float v = src[s + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    /** min of {@code src[s .. s+n)} (Float.MAX_VALUE if n == 0; NaNs are skipped). */
    static float min(float[] src, int s, int n) {
        float min = Float.MAX_VALUE;
        for (int j = 0; j < n; j++) if (src[s + j] < min) min = src[s + j];
        return min;
    }

    /** max of {@code src[s .. s+n)} (-Float.MAX_VALUE if n == 0; NaNs are skipped). */
    static float max(float[] src, int s, int n) {
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < n; j++) if (src[s + j] > max) max = src[s + j];
        return max;
    }
}
