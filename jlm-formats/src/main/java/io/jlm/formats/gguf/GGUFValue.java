package io.jlm.formats.gguf;

import java.util.Arrays;

/**
 * One metadata value. {@code value} is: for scalars UINT8/INT8/UINT16/INT16/INT32 an {@link Integer},
 * UINT32/UINT64/INT64 a {@link Long}, FLOAT32 a {@link Float}, FLOAT64 a {@link Double}, BOOL a {@link Boolean},
 * STRING a {@link String}; for ARRAY ({@code elementType} set): STRING -> String[], 8/16/32-bit integers -> int[]
 * (UINT32 bit pattern kept), 64-bit integers -> long[], FLOAT32 -> float[], FLOAT64 -> double[], BOOL -> boolean[],
 * nested arrays -> GGUFValue[].
 */
public record GGUFValue(GGUFValueType type, GGUFValueType elementType, Object value) {

    public static GGUFValue of(String s) { return new GGUFValue(GGUFValueType.STRING, null, s); }
    public static GGUFValue ofU32(long v) { return new GGUFValue(GGUFValueType.UINT32, null, v); }
    public static GGUFValue ofI32(int v) { return new GGUFValue(GGUFValueType.INT32, null, v); }
    public static GGUFValue ofU64(long v) { return new GGUFValue(GGUFValueType.UINT64, null, v); }
    public static GGUFValue of(float v) { return new GGUFValue(GGUFValueType.FLOAT32, null, v); }
    public static GGUFValue of(boolean v) { return new GGUFValue(GGUFValueType.BOOL, null, v); }
    public static GGUFValue of(String[] v) { return new GGUFValue(GGUFValueType.ARRAY, GGUFValueType.STRING, v); }
    public static GGUFValue of(float[] v) { return new GGUFValue(GGUFValueType.ARRAY, GGUFValueType.FLOAT32, v); }
    public static GGUFValue ofI32(int[] v) { return new GGUFValue(GGUFValueType.ARRAY, GGUFValueType.INT32, v); }

    /** Number of elements for arrays, 1 for scalars. */
    public int length() {
        return switch (value) {
            case String[] a -> a.length;
            case int[] a -> a.length;
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case GGUFValue[] a -> a.length;
            default -> 1;
        };
    }

    @Override
    public String toString() {
        return switch (value) {
            case String[] a -> arrayPreview(Arrays.asList(a).toString(), a.length, elementType);
            case int[] a -> arrayPreview(Arrays.toString(a), a.length, elementType);
            case long[] a -> arrayPreview(Arrays.toString(a), a.length, elementType);
            case float[] a -> arrayPreview(Arrays.toString(a), a.length, elementType);
            case double[] a -> arrayPreview(Arrays.toString(a), a.length, elementType);
            case boolean[] a -> arrayPreview(Arrays.toString(a), a.length, elementType);
            case GGUFValue[] a -> arrayPreview(Arrays.toString(a), a.length, elementType);
            case String s -> s.length() > 120 ? '"' + s.substring(0, 117).replace("\n", "\\n") + "...\"" : '"' + s.replace("\n", "\\n") + '"';
            default -> String.valueOf(value);
        };
    }

    private static String arrayPreview(String all, int n, GGUFValueType et) {
        String s = all.length() > 120 ? all.substring(0, 117) + "..." : all;
        return "[" + et + " x " + n + "] " + s;
    }
}
