package io.jlm.engine;

import com.hubspot.jinjava.objects.SafeString;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Python {@code str} and {@code dict} methods that chat templates call and Java lacks ({@code strip},
 * {@code startswith}, {@code split}, {@code items}, ...), resolved before Jinjava's bean resolver.
 */
final class PythonMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (base == null || method == null) return null;
        Object[] args = params == null ? new Object[0] : params;
        String name = method.toString();
        Object result;
        if (base instanceof String || base instanceof SafeString) {
            result = stringMethod(base.toString(), name, args);
        } else if (base instanceof Map<?, ?> map) {
            result = mapMethod(map, name, args);
        } else {
            return null;
        }
        if (result == NONE) return null;
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NONE = new Object();

    private static Object stringMethod(String s, String name, Object[] a) {
        return switch (name) {
            case "strip" -> a.length == 0 || a[0] == null ? s.strip() : rstrip(lstrip(s, a[0].toString()), a[0].toString());
            case "lstrip" -> a.length == 0 || a[0] == null ? s.stripLeading() : lstrip(s, a[0].toString());
            case "rstrip" -> a.length == 0 || a[0] == null ? s.stripTrailing() : rstrip(s, a[0].toString());
            case "startswith" -> a.length == 1 ? anyOf(a[0], p -> s.startsWith(p)) : NONE;
            case "endswith" -> a.length == 1 ? anyOf(a[0], p -> s.endsWith(p)) : NONE;
            case "upper" -> a.length == 0 ? s.toUpperCase(Locale.ROOT) : NONE;
            case "lower" -> a.length == 0 ? s.toLowerCase(Locale.ROOT) : NONE;
            case "title" -> a.length == 0 ? title(s) : NONE;
            case "capitalize" -> a.length == 0 ? (s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT)) : NONE;
            case "split" -> split(s, a);
            case "join" -> a.length == 1 ? join(s, a[0]) : NONE;
            case "find" -> a.length == 1 ? (Object) (long) s.indexOf(String.valueOf(a[0])) : NONE;
            case "count" -> a.length == 1 ? (Object) count(s, String.valueOf(a[0])) : NONE;
            case "replace" -> a.length == 2 ? s.replace(String.valueOf(a[0]), String.valueOf(a[1])) : NONE;
            case "isspace" -> a.length == 0 ? (Object) (!s.isEmpty() && s.isBlank()) : NONE;
            default -> NONE;
        };
    }

    private static Object mapMethod(Map<?, ?> m, String name, Object[] a) {
        return switch (name) {
            case "items" -> {
                if (a.length != 0) yield NONE;
                List<List<Object>> out = new ArrayList<>();
                for (var e : m.entrySet()) out.add(List.of(e.getKey(), e.getValue() == null ? "" : e.getValue()));
                yield out;
            }
            case "keys" -> a.length == 0 ? new ArrayList<>(m.keySet()) : NONE;
            case "values" -> a.length == 0 ? new ArrayList<>(m.values()) : NONE;
            case "get" -> a.length == 1 ? (m.containsKey(a[0]) ? m.get(a[0]) : null)
                    : a.length == 2 ? (m.containsKey(a[0]) ? m.get(a[0]) : a[1]) : NONE;
            default -> NONE;
        };
    }

    private static boolean anyOf(Object prefixes, java.util.function.Predicate<String> test) {
        if (prefixes instanceof Collection<?> c) {
            for (Object o : c) if (test.test(String.valueOf(o))) return true;
            return false;
        }
        if (prefixes instanceof Object[] arr) {
            for (Object o : arr) if (test.test(String.valueOf(o))) return true;
            return false;
        }
        return test.test(String.valueOf(prefixes));
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && chars.indexOf(s.charAt(i)) >= 0) i++;
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int i = s.length();
        while (i > 0 && chars.indexOf(s.charAt(i - 1)) >= 0) i--;
        return s.substring(0, i);
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean prevLetter = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return b.toString();
    }

    private static Object split(String s, Object[] a) {
        List<String> out = new ArrayList<>();
        if (a.length == 0 || a[0] == null) {
            for (String p : s.strip().split("\\s+")) if (!p.isEmpty()) out.add(p);
            return out;
        }
        String sep = a[0].toString();
        if (sep.isEmpty()) throw new IllegalArgumentException("split: empty separator");
        long max = a.length > 1 && a[1] instanceof Number n ? n.longValue() : -1;
        int from = 0;
        while (max < 0 || out.size() < max) {
            int at = s.indexOf(sep, from);
            if (at < 0) break;
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static Object join(String sep, Object items) {
        StringBuilder b = new StringBuilder();
        Iterable<?> it = items instanceof Iterable<?> i ? i : items instanceof Object[] arr ? List.of(arr) : List.of(items);
        boolean first = true;
        for (Object o : it) {
            if (!first) b.append(sep);
            b.append(o);
            first = false;
        }
        return b.toString();
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        long n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
        return n;
    }

    // property access is left to the other resolvers
    @Override public Object getValue(ELContext context, Object base, Object property) { return null; }
    @Override public Class<?> getType(ELContext context, Object base, Object property) { return null; }
    @Override public void setValue(ELContext context, Object base, Object property, Object value) { }
    @Override public boolean isReadOnly(ELContext context, Object base, Object property) { return true; }
    @Override public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) { return null; }
    @Override public Class<?> getCommonPropertyType(ELContext context, Object base) { return null; }
}
