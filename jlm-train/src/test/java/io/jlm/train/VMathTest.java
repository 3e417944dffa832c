package io.jlm.train;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class VMathTest {
    @Test void expAndTanhAgreeWithMathAndVectorEqualsScalar() {
        float[] xs = new float[Graph.L];
        for (float base = -90f; base < 90f; base += 0.37f * Graph.L) {
            for (int i = 0; i < xs.length; i++) xs[i] = base + 0.37f * i;
            float[] ve = new float[xs.length], vt = new float[xs.length], vr = new float[xs.length];
            VMath.erf(FloatVector.fromArray(Graph.S, xs, 0)).intoArray(vr, 0);
            VMath.exp(FloatVector.fromArray(Graph.S, xs, 0)).intoArray(ve, 0);
            VMath.tanh(FloatVector.fromArray(Graph.S, xs, 0)).intoArray(vt, 0);
            for (int i = 0; i < xs.length; i++) {
                float x = xs[i];
                double ref = Math.exp(Math.min(Math.max(x, -87), 88));
                assertEquals(ref, VMath.exp(x), 4e-7 * ref, "exp(" + x + ")");
                assertEquals(Float.floatToRawIntBits(VMath.exp(x)), Float.floatToRawIntBits(ve[i]), "vector exp(" + x + ")");
                assertEquals(Math.tanh(x), VMath.tanh(x), 3e-7, "tanh(" + x + ")");
                assertEquals(erfRef(x), VMath.erf(x), 3e-7, "erf(" + x + ")");
                assertEquals(Float.floatToRawIntBits(VMath.tanh(x)), Float.floatToRawIntBits(vt[i]), "vector tanh(" + x + ")");
                assertEquals(Float.floatToRawIntBits(VMath.erf(x)), Float.floatToRawIntBits(vr[i]), "vector erf(" + x + ")");
            }
        }
    }

    /** erf by its Maclaurin series (|x| < 3) or continued fraction of erfc, in double. */
    static double erfRef(double x) {
        double z = Math.abs(x), r;
        if (z < 3) {
            double term = z, sum = z;
            for (int n = 1; n < 200; n++) { term *= -z * z / n; sum += term / (2 * n + 1); }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (z + f);
            r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
        }
        return x < 0 ? -r : r;
    }
}
