package io.jlm.engine;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.objects.SafeString;

import java.lang.reflect.Array;
import java.util.Map;

/**
 * The {@code tojson} filter as transformers defines it for chat templates: Python's {@code json.dumps} with
 * {@code ensure_ascii=False} (separators {@code ", "} and {@code ": "}, non-ASCII kept), optional {@code indent}.
 */
final class PythonJson implements Filter {

    @Override
    public String getName() { return "tojson"; }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        int indent = -1;
        if (args != null && args.length > 0 && args[0] != null) {
            try {
                indent = Integer.parseInt(args[0].strip());
            } catch (NumberFormatException ignored) {
                // indent given by name or not a number: compact
            }
        }
        StringBuilder b = new StringBuilder();
        write(b, var, indent, 0);
        return b.toString();
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs == null ? null : kwargs.get("indent");
        if (indent == null && args != null && args.length > 0) indent = args[0];
        return filter(var, interpreter, indent == null ? new String[0] : new String[]{indent.toString()});
    }

    static void write(StringBuilder b, Object v, int indent, int depth) {
        switch (v) {
            case null -> b.append("null");
            case String s -> string(b, s);
            case SafeString s -> string(b, s.toString());
            case Boolean x -> b.append(x ? "true" : "false");
            case Float f -> number(b, f.doubleValue());
            case Double d -> number(b, d);
            case Number n -> b.append(n);
            case Map<?, ?> m -> {
                if (m.isEmpty()) { b.append("{}"); return; }
                b.append('{');
                boolean first = true;
                for (var e : m.entrySet()) {
                    if (!first) b.append(indent >= 0 ? "," : ", ");
                    newline(b, indent, depth + 1);
                    string(b, String.valueOf(e.getKey()));
                    b.append(": ");
                    write(b, e.getValue(), indent, depth + 1);
                    first = false;
                }
                newline(b, indent, depth);
                b.append('}');
            }
            case Iterable<?> it -> {
                if (!it.iterator().hasNext()) { b.append("[]"); return; }
                b.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) b.append(indent >= 0 ? "," : ", ");
                    newline(b, indent, depth + 1);
                    write(b, o, indent, depth + 1);
                    first = false;
                }
                newline(b, indent, depth);
                b.append(']');
            }
            default -> {
                if (v.getClass().isArray()) {
                    int n = Array.getLength(v);
                    java.util.List<Object> l = new java.util.ArrayList<>(n);
                    for (int i = 0; i < n; i++) l.add(Array.get(v, i));
                    write(b, l, indent, depth);
                } else {
                    string(b, v.toString());
                }
            }
        }
    }

    private static void newline(StringBuilder b, int indent, int depth) {
        if (indent < 0) return;
        b.append('\n');
        b.repeat(' ', indent * depth);
    }

    private static void number(StringBuilder b, double d) {
        if (Double.isNaN(d)) b.append("NaN");
        else if (Double.isInfinite(d)) b.append(d > 0 ? "Infinity" : "-Infinity");
        else b.append(d);
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
