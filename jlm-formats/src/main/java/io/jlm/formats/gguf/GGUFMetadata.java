package io.jlm.formats.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Ordered GGUF key/value metadata with typed accessors that convert between numeric types. */
public final class GGUFMetadata {
    private final Map<String, GGUFValue> entries;
    private final String source;

    public GGUFMetadata(Map<String, GGUFValue> entries, String source) {
        this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        this.source = source;
    }

    public Map<String, GGUFValue> entries() { return entries; }
    public Set<String> keys() { return entries.keySet(); }
    public boolean contains(String key) { return entries.containsKey(key); }
    public GGUFValue get(String key) { return entries.get(key); }

    public String getString(String key) {
        GGUFValue v = entries.get(key);
        if (v == null) return null;
        if (v.value() instanceof String s) return s;
        throw wrongType(key, v, "a string");
    }

    public String getString(String key, String def) {
        String s = getString(key);
        return s == null ? def : s;
    }

    public String requireString(String key) {
        String s = getString(key);
        if (s == null) throw missing(key, "a string");
        return s;
    }

    public long getLong(String key, long def) {
        GGUFValue v = entries.get(key);
        if (v == null) return def;
        return switch (v.value()) {
            case Integer i -> i;
            case Long l -> l;
            default -> throw wrongType(key, v, "an integer");
        };
    }

    public int getInt(String key, int def) {
        long l = getLong(key, def);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(source + ": metadata '" + key + "' = " + l + " is out of range; expected a 32-bit integer");
        }
        return (int) l;
    }

    public int requireInt(String key) {
        if (!contains(key)) throw missing(key, "an integer");
        return getInt(key, 0);
    }

    public float getFloat(String key, float def) {
        GGUFValue v = entries.get(key);
        if (v == null) return def;
        return switch (v.value()) {
            case Float f -> f;
            case Double d -> d.floatValue();
            case Integer i -> i;
            case Long l -> l;
            default -> throw wrongType(key, v, "a number");
        };
    }

    public boolean getBoolean(String key, boolean def) {
        GGUFValue v = entries.get(key);
        if (v == null) return def;
        if (v.value() instanceof Boolean b) return b;
        if (v.value() instanceof Integer i) return i != 0;
        throw wrongType(key, v, "a boolean");
    }

    public String[] getStringArray(String key) {
        GGUFValue v = entries.get(key);
        if (v == null) return null;
        if (v.value() instanceof String[] a) return a;
        throw wrongType(key, v, "an array of strings");
    }

    public int[] getIntArray(String key) {
        GGUFValue v = entries.get(key);
        if (v == null) return null;
        return switch (v.value()) {
            case int[] a -> a;
            case long[] a -> {
                int[] r = new int[a.length];
                for (int i = 0; i < a.length; i++) r[i] = Math.toIntExact(a[i]);
                yield r;
            }
            case boolean[] a -> {
                int[] r = new int[a.length];
                for (int i = 0; i < a.length; i++) r[i] = a[i] ? 1 : 0;
                yield r;
            }
            default -> throw wrongType(key, v, "an array of integers");
        };
    }

    public float[] getFloatArray(String key) {
        GGUFValue v = entries.get(key);
        if (v == null) return null;
        return switch (v.value()) {
            case float[] a -> a;
            case double[] a -> {
                float[] r = new float[a.length];
                for (int i = 0; i < a.length; i++) r[i] = (float) a[i];
                yield r;
            }
            case int[] a -> {
                float[] r = new float[a.length];
                for (int i = 0; i < a.length; i++) r[i] = a[i];
                yield r;
            }
            default -> throw wrongType(key, v, "an array of numbers");
        };
    }

    /** The architecture ({@code general.architecture}), required by models. */
    public String architecture() { return requireString("general.architecture"); }

    private IllegalArgumentException wrongType(String key, GGUFValue v, String expected) {
        return new IllegalArgumentException(source + ": metadata '" + key + "' has type " + v.type()
                + (v.elementType() != null ? " of " + v.elementType() : "") + "; expected " + expected);
    }

    private IllegalArgumentException missing(String key, String expected) {
        return new IllegalArgumentException(source + ": metadata '" + key + "' is missing; expected " + expected);
    }
}
