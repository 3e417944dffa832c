package io.jlm.train;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class VMathTest {
    @Test void expAndTanhAgreeWithMathAndVectorEqualsScalar() {
        float[] xs = new float[Graph.L];
        for (float base = -90f; base < 90f; base += 0.37f * Graph.L) {
            for (int i = 0; i < xs.length; i++) xs[i] = base + 0.37f * i;
            float[] ve = new float[xs.length], vt = new float[xs.length];
            VMath.exp(FloatVector.fromArray(Graph.S, xs, 0)).intoArray(ve, 0);
            VMath.tanh(FloatVector.fromArray(Graph.S, xs, 0)).intoArray(vt, 0);
            for (int i = 0; i < xs.length; i++) {
                float x = xs[i];
                double ref = Math.exp(Math.min(Math.max(x, -87), 88));
                assertEquals(ref, VMath.exp(x), 4e-7 * ref, "exp(" + x + ")");
                assertEquals(Float.floatToRawIntBits(VMath.exp(x)), Float.floatToRawIntBits(ve[i]), "vector exp(" + x + ")");
                assertEquals(Math.tanh(x), VMath.tanh(x), 3e-7, "tanh(" + x + ")");
                assertEquals(Float.floatToRawIntBits(VMath.tanh(x)), Float.floatToRawIntBits(vt[i]), "vector tanh(" + x + ")");
            }
        }
    }
}
