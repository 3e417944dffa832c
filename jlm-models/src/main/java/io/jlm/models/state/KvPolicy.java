package io.jlm.models.state;

import io.jlm.core.tensor.GGMLType;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A KV-cache policy chosen per run ({@code --kv-policy}), parsed from a short specification:
 * <table>
 *   <tr><th>spec</th><th>cache</th></tr>
 *   <tr><td>{@code full} / {@code f16}, {@code f32}</td><td>{@link ContiguousKvCache} (the default, f16)</td></tr>
 *   <tr><td>{@code q8_0}, {@code q4_0}</td><td>{@link QuantizedKvCache}</td></tr>
 *   <tr><td>{@code sink:4,window:256[,lminf[=CAP]]}, {@code window:256}</td><td>{@link SinkWindowKvCache}
 *       (StreamingLLM positions, or LM-Infinite with distance cap CAP, default the window)</td></tr>
 *   <tr><td>{@code h2o:budget=0.2[,recent=0.5]}, {@code a2sf:budget=0.2,forget=0.9},
 *       {@code keyformer:budget=0.2,tau=1}</td><td>{@link EvictingKvCache}; a budget or recent value {@code <= 1} is
 *       a fraction (of the context size, resp. of the budget), larger values are positions</td></tr>
 *   <tr><td>{@code think:ratio=0.5[,observe=32]}</td><td>{@link ThinKKvCache}</td></tr>
 * </table>
 * Bounded caches also accept {@code chunk=N}: the most positions one forward chunk appends (default 64).
 */
public sealed interface KvPolicy {

    int DEFAULT_CHUNK = 64;

    /** Creates a cache for a model with these dimensions and a sequence of at most {@code capacity} positions. */
    KvCache create(int layers, int capacity, int kvHeads, int headDim);

    /** The canonical specification. */
    String spec();

    /** Full cache of element type F32 or F16. */
    record Full(GGMLType type) implements KvPolicy {
        public KvCache create(int layers, int capacity, int kvHeads, int headDim) {
            return new ContiguousKvCache(type, layers, capacity, kvHeads, headDim);
        }
        public String spec() { return type == GGMLType.F16 ? "full" : "f32"; }
    }

    /** Quantized full cache (Q8_0 or Q4_0 blocks). */
    record Quantized(GGMLType type) implements KvPolicy {
        public KvCache create(int layers, int capacity, int kvHeads, int headDim) {
            return new QuantizedKvCache(type, layers, capacity, kvHeads, headDim);
        }
        public String spec() { return type.name().toLowerCase(Locale.ROOT); }
    }

    /** Sinks plus sliding window. */
    record SinkWindow(int sinks, int window, SinkWindowKvCache.Mode mode, int distanceCap, int chunk) implements KvPolicy {
        public KvCache create(int layers, int capacity, int kvHeads, int headDim) {
            return new SinkWindowKvCache(layers, capacity, kvHeads, headDim, sinks, window, mode,
                    distanceCap > 0 ? distanceCap : window, chunk);
        }
        public String spec() {
            String s = sinks == 0 ? "window:" + window : "sink:" + sinks + ",window:" + window;
            if (mode == SinkWindowKvCache.Mode.LM_INFINITE) s += distanceCap > 0 ? ",lminf=" + distanceCap : ",lminf";
            return s;
        }
    }

    /** Score-based eviction under a budget. */
    record Evict(EvictingKvCache.Scoring scoring, double budget, double recent, float forget, float tau, long seed,
                 int chunk) implements KvPolicy {
        /** Budget in positions for a context of {@code capacity}. */
        public int budgetTokens(int capacity) {
            return budget <= 1 ? Math.max(2, (int) Math.round(budget * capacity)) : (int) budget;
        }
        public KvCache create(int layers, int capacity, int kvHeads, int headDim) {
            int b = budgetTokens(capacity);
            int r = recent <= 1 ? (int) Math.round(recent * b) : (int) recent;
            r = Math.min(r, b - 1);
            return new EvictingKvCache(layers, capacity, kvHeads, headDim, b, r, scoring, forget, tau, seed, chunk);
        }
        public String spec() {
            String s = scoring.name().toLowerCase(Locale.ROOT) + ":budget=" + fmt(budget) + ",recent=" + fmt(recent);
            if (scoring == EvictingKvCache.Scoring.A2SF) s += ",forget=" + fmt(forget);
            if (scoring == EvictingKvCache.Scoring.KEYFORMER) s += ",tau=" + fmt(tau);
            return s;
        }
    }

    /** ThinK key-channel pruning. */
    record ThinK(float ratio, int observe) implements KvPolicy {
        public KvCache create(int layers, int capacity, int kvHeads, int headDim) {
            return new ThinKKvCache(layers, capacity, kvHeads, headDim, ratio, observe);
        }
        public String spec() { return "think:ratio=" + fmt(ratio) + ",observe=" + observe; }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e9 ? Long.toString((long) d) : Double.toString(d);
    }

    private static String fmt(float f) {
        return f == Math.rint(f) ? Long.toString((long) f) : Float.toString(f);
    }

    /** Parses a specification (see the class comment); throws IllegalArgumentException naming the problem. */
    static KvPolicy parse(String spec) {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("empty KV policy");
        String s = spec.trim().toLowerCase(Locale.ROOT);
        switch (s) {
            case "full", "f16": return new Full(GGMLType.F16);
            case "f32": return new Full(GGMLType.F32);
            case "q8_0": return new Quantized(GGMLType.Q8_0);
            case "q4_0": return new Quantized(GGMLType.Q4_0);
            default: break;
        }
        // sink:4,window:256 or h2o:budget=0.2,recent=0.5 : the first key names the policy
        Map<String, String> kv = new LinkedHashMap<>();
        String[] parts = s.split(",");
        String head = parts[0];
        int c = head.indexOf(':');
        String name = c < 0 ? head : head.substring(0, c);
        if (c >= 0) {
            String rest = head.substring(c + 1).trim();
            int e = rest.indexOf('=');
            if (e >= 0) kv.put(rest.substring(0, e).trim(), rest.substring(e + 1).trim()); // h2o:budget=0.2
            else kv.put(name, rest);                                                         // sink:4
        }
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            int e = p.indexOf('=');
            if (e < 0) e = p.indexOf(':');
            kv.put(e < 0 ? p : p.substring(0, e).trim(), e < 0 ? "" : p.substring(e + 1).trim());
        }
        try {
            switch (name) {
                case "sink", "window" -> {
                    check(spec, kv, Set.of("sink", "window", "lminf", "chunk"));
                    int sinks = kv.containsKey("sink") ? Integer.parseInt(kv.get("sink")) : 0;
                    if (!kv.containsKey("window") || kv.get("window").isEmpty()) {
                        throw new IllegalArgumentException("KV policy '" + spec + "' needs window:N");
                    }
                    int window = Integer.parseInt(kv.get("window"));
                    boolean lminf = kv.containsKey("lminf");
                    int cap = lminf && !kv.get("lminf").isEmpty() ? Integer.parseInt(kv.get("lminf")) : 0;
                    return new SinkWindow(sinks, window, lminf ? SinkWindowKvCache.Mode.LM_INFINITE
                            : SinkWindowKvCache.Mode.STREAMING, cap, chunk(kv));
                }
                case "h2o", "a2sf", "keyformer" -> {
                    check(spec, kv, Set.of(name, "budget", "recent", "forget", "tau", "seed", "chunk"));
                    String b = kv.getOrDefault("budget", kv.get(name));
                    if (b == null || b.isEmpty()) throw new IllegalArgumentException("KV policy '" + spec + "' needs budget=B");
                    double budget = Double.parseDouble(b);
                    if (!(budget > 0)) throw new IllegalArgumentException("KV policy '" + spec + "': budget must be > 0");
                    double recent = Double.parseDouble(kv.getOrDefault("recent", "0.5"));
                    float forget = Float.parseFloat(kv.getOrDefault("forget", "0.9"));
                    float tau = Float.parseFloat(kv.getOrDefault("tau", "1"));
                    long seed = Long.parseLong(kv.getOrDefault("seed", "1"));
                    return new Evict(EvictingKvCache.Scoring.valueOf(name.toUpperCase(Locale.ROOT)), budget, recent,
                            forget, tau, seed, chunk(kv));
                }
                case "think" -> {
                    check(spec, kv, Set.of("think", "ratio", "observe"));
                    String r = kv.getOrDefault("ratio", kv.get("think"));
                    return new ThinK(r == null || r.isEmpty() ? 0.5f : Float.parseFloat(r),
                            Integer.parseInt(kv.getOrDefault("observe", "32")));
                }
                default -> throw new IllegalArgumentException("unknown KV policy '" + spec + "'; expected full, f32, q8_0,"
                        + " q4_0, sink:S,window:W[,lminf], window:W, h2o:budget=B, a2sf:budget=B,forget=F,"
                        + " keyformer:budget=B,tau=T or think:ratio=R");
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("KV policy '" + spec + "': bad number (" + e.getMessage() + ")", e);
        }
    }

    private static int chunk(Map<String, String> kv) {
        return Integer.parseInt(kv.getOrDefault("chunk", Integer.toString(DEFAULT_CHUNK)));
    }

    private static void check(String spec, Map<String, String> kv, Set<String> allowed) {
        for (String k : kv.keySet()) {
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException("KV policy '" + spec + "': unknown option '" + k + "'; expected one of " + allowed);
            }
        }
    }
}
