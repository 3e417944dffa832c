package io.jlm.formats.gguf;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Deep comparison of GGUF values for tests. */
final class GGUFTestValues {
    private GGUFTestValues() {}

    static boolean deepEquals(GGUFValue a, GGUFValue b) {
        if (a.type() != b.type() || a.elementType() != b.elementType()) return false;
        Object x = a.value(), y = b.value();
        if (x instanceof GGUFValue[] ax && y instanceof GGUFValue[] ay) {
            if (ax.length != ay.length) return false;
            for (int i = 0; i < ax.length; i++) if (!deepEquals(ax[i], ay[i])) return false;
            return true;
        }
        // Float/Double equals compares bit patterns (NaN == NaN), as do the primitive array equals
        return Arrays.deepEquals(new Object[]{x}, new Object[]{y});
    }

    static void assertSameMetadata(Map<String, GGUFValue> expected, Map<String, GGUFValue> actual) {
        assertEquals(expected.keySet().stream().toList(), actual.keySet().stream().toList(), "metadata keys/order");
        for (var e : expected.entrySet()) {
            GGUFValue got = actual.get(e.getKey());
            if (!deepEquals(e.getValue(), got)) fail("metadata '" + e.getKey() + "': expected " + e.getValue() + " got " + got);
        }
        assertTrue(true);
    }
}
