package io.jlm.models;

import java.util.Arrays;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Bit-identity checks that tolerate the JIT: HotSpot's Vector API fallback (interpreter, C1) and its C2
 * intrinsics sum lanes in different orders, so the same computation gives ulp-different floats until the code is
 * compiled. A reference run before and after the candidate run tells whether the code was stable; the candidate
 * must then equal it exactly. A wrong candidate never passes (it is compared with stable references only).
 */
final class BitIdentical {
    private BitIdentical() {}

    static final int ATTEMPTS = 40;

    static void assertBitIdentical(Supplier<float[]> reference, Supplier<float[]> candidate, String what) {
        float[] lastRef = null, lastCand = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            float[] r1 = reference.get();
            float[] c = candidate.get();
            float[] r2 = reference.get();
            if (Arrays.equals(r1, r2) && Arrays.equals(r1, c)) return;
            lastRef = r2;
            lastCand = c;
        }
        assertArrayEquals(lastRef, lastCand, what + " (not bit-identical in " + ATTEMPTS + " attempts)");
        throw new AssertionError(what + ": reference runs never agreed with each other in " + ATTEMPTS + " attempts");
    }

    /** Concatenation of float arrays (scenario results). */
    static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] out = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
