package io.jlm.tasks;

import io.jlm.tokenizers.Tokenizer;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Builds tasks by name from string parameters (for the command line and experiment specs). Unknown names or
 * parameters are rejected with the allowed ones listed. Defaults are small enough to train on in minutes.
 */
public final class Tasks {
    private Tasks() {}

    /** Task names and their parameters with defaults. */
    public static final Map<String, Map<String, String>> DEFAULTS = defaults();

    private static Map<String, Map<String, String>> defaults() {
        Map<String, Map<String, String>> m = new LinkedHashMap<>();
        m.put("mqar", ordered("pairs", "8", "queries", "8", "keys", "64", "values", "64"));
        m.put("copy", ordered("length", "16", "alphabet", "16"));
        m.put("induction", ordered("length", "64", "alphabet", "32"));
        m.put("selective-copy", ordered("length", "64", "count", "8", "alphabet", "16"));
        m.put("passkey", ordered("length", "256", "depth", "0.5", "digits", "5", "filler", "8"));
        m.put("phonebook", ordered("entries", "16", "queries", "4", "name-length", "3", "number-length", "4", "letters", "16"));
        m.put("regression", ordered("dim", "4", "points", "16", "noise", "0", "bins", "32", "range", "4"));
        m.put("passkey-text", ordered("repeats", "20", "depth", "0.5", "digits", "5"));
        return java.util.Collections.unmodifiableMap(m);
    }

    private static Map<String, String> ordered(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return java.util.Collections.unmodifiableMap(m);
    }

    public static Set<String> names() { return DEFAULTS.keySet(); }

    /** A task by name; {@code passkey-text} needs a tokenizer (others ignore it, it may be null). */
    public static Task create(String name, Map<String, String> params, Tokenizer tokenizer) {
        Map<String, String> def = DEFAULTS.get(name);
        if (def == null) throw new IllegalArgumentException("unknown task '" + name + "'; expected one of " + names());
        for (String k : params.keySet()) {
            if (!def.containsKey(k)) {
                throw new IllegalArgumentException("task " + name + ": unknown parameter '" + k + "'; expected one of " + new TreeSet<>(def.keySet()));
            }
        }
        Map<String, String> p = new HashMap<>(def);
        p.putAll(params);
        P a = new P(name, p);
        return switch (name) {
            case "mqar" -> new MultiQueryRecall(a.i("pairs"), a.i("queries"), a.i("keys"), a.i("values"));
            case "copy" -> new CopyTask(a.i("length"), a.i("alphabet"));
            case "induction" -> new InductionTask(a.i("length"), a.i("alphabet"));
            case "selective-copy" -> new SelectiveCopy(a.i("length"), a.i("count"), a.i("alphabet"));
            case "passkey" -> new PasskeyTask(a.i("length"), a.d("depth"), a.i("digits"), a.i("filler"));
            case "phonebook" -> new PhonebookTask(a.i("entries"), a.i("queries"), a.i("name-length"), a.i("number-length"), a.i("letters"));
            case "regression" -> new QuantizedRegressionTask(new LinearRegressionTask(a.i("dim"), a.i("points"), a.d("noise")),
                    a.i("bins"), a.d("range"));
            case "passkey-text" -> {
                if (tokenizer == null) throw new IllegalArgumentException("task passkey-text needs the model's tokenizer");
                yield new TextPasskeyTask(tokenizer, a.i("repeats"), a.d("depth"), a.i("digits"));
            }
            default -> throw new IllegalStateException(name);
        };
    }

    /** Parses {@code key=value} strings. */
    public static Map<String, String> parseParams(List<String> kvs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : kvs) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("task parameter '" + kv + "' is not of the form key=value");
            m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return m;
    }

    private record P(String task, Map<String, String> m) {
        int i(String k) {
            try {
                return Integer.parseInt(m.get(k));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("task " + task + ": parameter " + k + " = '" + m.get(k) + "' is not an integer");
            }
        }

        double d(String k) {
            try {
                return Double.parseDouble(m.get(k));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("task " + task + ": parameter " + k + " = '" + m.get(k) + "' is not a number");
            }
        }
    }
}
