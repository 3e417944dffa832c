package io.jlm.eval;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.models.state.EvictingKvCache;
import io.jlm.models.state.KvCache;
import io.jlm.models.state.KvPolicy;
import io.jlm.models.transformer.TransformerModel;
import io.jlm.models.transformer.TransformerState;
import io.jlm.tokenizers.Tokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code jlm eval longctx}: measures KV-cache policies on one model.
 * <ol>
 *   <li><b>Perplexity</b> on segments of a long text: per policy, the perplexity over {@code pplTokens}-token
 *       segments and its change against the full cache; bounded policies get a budget of {@code budget * pplTokens}
 *       positions.</li>
 *   <li><b>Perplexity curve</b> over {@code curveTokens} positions (beyond the trained context): NLL per bucket of
 *       positions for the curve policies.</li>
 *   <li><b>Passkey retrieval</b> at several prompt lengths (greedy answer, exact match and per-token accuracy).</li>
 *   <li><b>Memory and decode speed</b> versus context length: cache bytes and decode tokens/s after a prefill of
 *       L tokens, or, with {@code speedRandomFill}, after writing L positions of random keys and values straight into
 *       the cache (the work of a decode step does not depend on what the cache holds, and a 32k prefill of a 1B model
 *       takes far longer on a small machine than the decode steps being measured).</li>
 *   <li><b>Streaming</b>: greedy generation to {@code streamTokens} positions with a bounded policy; tokens/s and
 *       bytes per bucket.</li>
 * </ol>
 * Policy specifications may use {@code %B} (the budget in positions for the experiment's length) and {@code %W}
 * ({@code %B} minus 4, the window beside 4 sinks). Bounded policies run with forward chunks of {@code chunk}
 * positions (eviction between chunks) unless the spec names its own.
 */
public final class LongContextEval {

    /** What to run. Empty arrays/lists skip that experiment. */
    public record Options(List<String> policies, double budget, int chunk, int pplTokens, int pplSegments,
                          List<String> curvePolicies, int curveTokens, int curveBucket,
                          int[] passkeyLengths, int passkeyTrials,
                          List<String> speedPolicies, int[] speedLengths, int speedDecode, boolean speedRandomFill,
                          List<String> streamPolicies, int[] streamTokens, int streamBucket, long seed) {}

    private final LanguageModel model;
    private final Tokenizer tok;
    private final int[] corpus;
    private final Options o;
    private final PrintStream log;
    private final StringBuilder md = new StringBuilder();

    public LongContextEval(LanguageModel model, Tokenizer tok, int[] corpus, Options options, PrintStream log) {
        this.model = model;
        this.tok = tok;
        this.corpus = corpus;
        this.o = options;
        this.log = log;
    }

    /** Resolves placeholders and the chunk size of bounded policies. */
    KvPolicy policy(String spec, int length) {
        int b = Math.max(2, (int) Math.round(o.budget() * length));
        String s = spec.replace("%W", Integer.toString(Math.max(1, b - 4))).replace("%B", Integer.toString(b));
        KvPolicy p = KvPolicy.parse(s);
        boolean ownChunk = s.contains("chunk=");
        if (ownChunk || o.chunk() <= 0) return p;
        return switch (p) {
            case KvPolicy.SinkWindow w -> new KvPolicy.SinkWindow(w.sinks(), w.window(), w.mode(), w.distanceCap(), o.chunk());
            case KvPolicy.Evict e -> new KvPolicy.Evict(e.scoring(), e.budget(), e.recent(), e.forget(), e.tau(), e.seed(), o.chunk());
            default -> p;
        };
    }

    static KvCache cache(ModelState st) {
        return st instanceof TransformerState ts ? ts.cache() : null;
    }

    private int[] text(int offset, int n) {
        int[] t = new int[n];
        int bos = tok.bos();
        for (int i = 0; i < n; i++) t[i] = corpus[(offset + i) % corpus.length];
        if (bos >= 0) t[0] = bos;
        return t;
    }

    /** Runs everything, writes report.md and PNGs into {@code out}; returns the Markdown. */
    public String run(Path out, String title) throws IOException {
        Files.createDirectories(out);
        md.append("# ").append(title).append("\n\n");
        if (o.pplTokens() > 0 && !o.policies().isEmpty()) perplexityTable();
        if (o.curveTokens() > 0 && !o.curvePolicies().isEmpty()) perplexityCurve(out);
        if (o.passkeyLengths().length > 0 && !o.policies().isEmpty()) passkey(out);
        if (o.speedLengths().length > 0 && !o.speedPolicies().isEmpty()) speed(out);
        if (o.streamTokens().length > 0 && !o.streamPolicies().isEmpty()) stream(out);
        Files.writeString(out.resolve("report.md"), md.toString());
        return md.toString();
    }

    private void perplexityTable() {
        int n = o.pplTokens(), segs = o.pplSegments();
        int budgetTokens = Math.max(2, (int) Math.round(o.budget() * n));
        md.append(String.format(Locale.ROOT, "## Perplexity: %d segments of %d tokens, budget %.0f%% = %d positions%n%n",
                segs, n, o.budget() * 100, budgetTokens));
        md.append("| policy | KV bytes held | bytes vs full | perplexity | delta vs full |\n|---|---:|---:|---:|---:|\n");
        double basePpl = Double.NaN;
        long baseBytes = 0;
        for (String spec : o.policies()) {
            double nllSum = 0;
            long bytes = 0;
            int count = 0;
            String desc = null;
            long t0 = System.nanoTime();
            for (int s = 0; s < segs; s++) {
                int[] t = text(s * (corpus.length / Math.max(1, segs)), n);
                KvPolicy p = policy(spec, n);
                ModelState st = model.newState(n, p);
                double[] nll = Perplexity.nll(model, st, t, 256);
                for (double v : nll) nllSum += v;
                count += nll.length;
                bytes = cache(st) == null ? st.bytes() : cache(st).bytes();
                desc = cache(st) == null ? p.spec() : cache(st).describe();
            }
            double ppl = Math.exp(nllSum / count);
            if (Double.isNaN(basePpl)) {
                basePpl = ppl;
                baseBytes = bytes;
            }
            md.append(String.format(Locale.ROOT, "| `%s` | %,d | %.2fx fewer | %.4f | %+.2f%% |%n", desc, bytes,
                    baseBytes / (double) bytes, ppl, (ppl / basePpl - 1) * 100));
            log.printf(Locale.ROOT, "ppl %-40s %.4f (%.1f s)%n", desc, ppl, (System.nanoTime() - t0) / 1e9);
        }
        md.append("\nThe first row is the reference (\"full\"). Bytes are what the cache object holds (bounded caches:\n"
                + "kept positions plus one forward chunk of slack, plus per-slot scores/positions for eviction caches).\n\n");
    }

    private void perplexityCurve(Path out) throws IOException {
        int n = o.curveTokens(), bucket = o.curveBucket();
        md.append(String.format(Locale.ROOT, "## Perplexity by position over %d tokens (trained context %d)%n%n", n,
                model.config().contextLength()));
        Map<String, double[][]> series = Plots.series();
        StringBuilder table = new StringBuilder("| positions |");
        List<double[]> rows = new ArrayList<>();
        int buckets = (n - 1) / bucket;
        for (String spec : o.curvePolicies()) {
            KvPolicy p = policy(spec, n);
            ModelState st = model.newState(n, p);
            double[] nll = Perplexity.nll(model, st, text(0, n), 256);
            double[] x = new double[buckets], y = new double[buckets];
            for (int b = 0; b < buckets; b++) {
                x[b] = (b + 0.5) * bucket;
                y[b] = Perplexity.ppl(nll, b * bucket, (b + 1) * bucket);
            }
            String desc = cache(st).describe();
            series.put(desc, new double[][]{x, y});
            table.append(" `").append(desc).append("` |");
            rows.add(y);
            log.printf(Locale.ROOT, "curve %s done%n", desc);
        }
        Plots.line(out.resolve("ppl-by-position.png"), "Perplexity by position", "position", "perplexity (bucket of "
                + bucket + ")", series, false, false);
        table.append("\n|---|").append("---:|".repeat(rows.size())).append("\n");
        for (int b = 0; b < buckets; b++) {
            table.append(String.format(Locale.ROOT, "| %d-%d |", b * bucket, (b + 1) * bucket));
            for (double[] y : rows) table.append(String.format(Locale.ROOT, " %.2f |", y[b]));
            table.append("\n");
        }
        md.append(table).append("\n![perplexity by position](ppl-by-position.png)\n\n");
    }

    private void passkey(Path out) throws IOException {
        md.append(String.format(Locale.ROOT, "## Passkey retrieval (%d trials per length, greedy; budget %.0f%%)%n%n",
                o.passkeyTrials(), o.budget() * 100));
        StringBuilder head = new StringBuilder("| policy |");
        for (int L : o.passkeyLengths()) head.append(" ").append(L).append(" |");
        md.append(head).append("\n|---|").append("---:|".repeat(o.passkeyLengths().length)).append("\n");
        Map<String, double[][]> series = Plots.series();
        for (String spec : o.policies()) {
            StringBuilder row = new StringBuilder();
            double[] x = new double[o.passkeyLengths().length], y = new double[x.length];
            String desc = spec;
            for (int li = 0; li < o.passkeyLengths().length; li++) {
                int L = o.passkeyLengths()[li];
                Random r = new Random(o.seed() + L);
                int exact = 0;
                double acc = 0;
                for (int t = 0; t < o.passkeyTrials(); t++) {
                    Passkey.Case c = Passkey.make(tok, L, r);
                    KvPolicy p = policy(spec, L);
                    ModelState st = model.newState(L + c.answer().length + 1, p);
                    float[] logits = model.forward(st, c.prompt(), false);
                    int[] got = new int[c.answer().length];
                    for (int i = 0; i < got.length; i++) {
                        got[i] = argmax(logits);
                        if (i + 1 < got.length) logits = model.forward(st, new int[]{got[i]}, false);
                    }
                    if (Passkey.exact(c.answer(), got)) exact++;
                    acc += Passkey.tokenAccuracy(c.answer(), got);
                    desc = cache(st).describe().replaceAll("budget=\\d+", "budget=" + pct()).replaceAll("window:\\d+", "window:" + pct());
                }
                row.append(String.format(Locale.ROOT, " %d/%d (%.0f%%) |", exact, o.passkeyTrials(),
                        100 * acc / o.passkeyTrials()));
                x[li] = L;
                y[li] = 100 * acc / o.passkeyTrials();
            }
            md.append("| `").append(spec).append("` |").append(row).append("\n");
            series.put(spec, new double[][]{x, y});
            log.printf(Locale.ROOT, "passkey %s done%n", spec);
        }
        md.append("\nCells: exact matches / trials (mean per-token accuracy of the answer). `%B` = budget, `%W` = budget - 4.\n\n");
        Plots.line(out.resolve("passkey.png"), "Passkey retrieval", "prompt length (tokens)", "answer token accuracy (%)",
                series, false, false);
        md.append("![passkey](passkey.png)\n\n");
    }

    private String pct() { return String.format(Locale.ROOT, "%.0f%%", o.budget() * 100); }

    private static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    /**
     * A state at position {@code length} whose cache holds random keys and values (uniform in [-1, 1)) for positions
     * [0, length): what a decode step reads and computes is the same as after a real prefill of that length.
     */
    static ModelState randomFilled(LanguageModel model, ModelState st, int length, long seed) {
        if (!(st instanceof TransformerState ts) || !(model instanceof TransformerModel tm)) {
            throw new IllegalArgumentException("random cache fill needs a transformer model with a KV cache, got "
                    + st.getClass().getSimpleName());
        }
        KvCache c = ts.cache();
        if (c instanceof EvictingKvCache) {
            throw new IllegalArgumentException("random cache fill does not apply to score-based eviction ("
                    + c.describe() + "): its scores come from real attention; use a prefill instead");
        }
        if (length > c.capacity()) {
            throw new IllegalArgumentException("cannot fill " + length + " positions into a cache of capacity " + c.capacity());
        }
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        for (int l = 0; l < c.layers(); l++) {
            int n = c.kvHeads(l) * c.headDim(l);
            float[] k = new float[n], v = new float[n];
            for (int pos = 0; pos < length; pos++) {
                for (int i = 0; i < n; i++) {
                    k[i] = (float) (2 * rnd.nextDouble() - 1);
                    v[i] = (float) (2 * rnd.nextDouble() - 1);
                }
                c.write(l, pos, k, 0, v, 0);
            }
        }
        return tm.newState(c);
    }

    private void speed(Path out) throws IOException {
        md.append(String.format(Locale.ROOT, "## Memory and decode speed vs context length (%d decode steps after %s)%n%n",
                o.speedDecode(), o.speedRandomFill() ? "writing L positions of random keys/values into the cache"
                        : "a prefill of L tokens"));
        md.append("| policy | L | KV bytes held | decode t/s |\n|---|---:|---:|---:|\n");
        Map<String, double[][]> bytesSeries = Plots.series(), tpsSeries = Plots.series();
        for (String spec : o.speedPolicies()) {
            int m = o.speedLengths().length;
            double[] x = new double[m], yb = new double[m], yt = new double[m];
            for (int i = 0; i < m; i++) {
                int L = o.speedLengths()[i];
                KvPolicy p = policy(spec, L);
                ModelState st = model.newState(L + o.speedDecode() + 1, p);
                int[] t = text(0, L + o.speedDecode());
                float[] logits;
                if (o.speedRandomFill()) {
                    st = randomFilled(model, st, L, o.seed());
                    logits = model.forward(st, new int[]{t[L]}, false);
                } else {
                    logits = model.forward(st, Arrays.copyOf(t, L), false);
                }
                // one untimed step, then the timed ones
                logits = model.forward(st, new int[]{argmax(logits)}, false);
                long t0 = System.nanoTime();
                for (int k = 1; k < o.speedDecode(); k++) logits = model.forward(st, new int[]{argmax(logits)}, false);
                double tps = (o.speedDecode() - 1) / ((System.nanoTime() - t0) / 1e9);
                long bytes = cache(st).bytes();
                x[i] = L;
                yb[i] = bytes / (1024.0 * 1024.0);
                yt[i] = tps;
                md.append(String.format(Locale.ROOT, "| `%s` | %d | %,d | %.1f |%n", spec, L, bytes, tps));
                log.printf(Locale.ROOT, "speed %s L=%d: %.1f t/s, %d bytes%n", spec, L, tps, bytes);
            }
            bytesSeries.put(spec, new double[][]{x, yb});
            tpsSeries.put(spec, new double[][]{x, yt});
        }
        Plots.line(out.resolve("kv-bytes.png"), "KV cache memory vs context", "context length", "MiB held", bytesSeries, true, true);
        Plots.line(out.resolve("decode-speed.png"), "Decode speed vs context", "context length", "tokens/s", tpsSeries, true, false);
        md.append("\n![kv bytes](kv-bytes.png)\n\n![decode speed](decode-speed.png)\n\n");
    }

    /** Tokens of context a fluency score gets (inside every model's trained context). */
    static final int FLUENCY_CONTEXT = 256, FLUENCY_SPAN = 128;

    /**
     * Fluency of generated tokens {@code [to - FLUENCY_SPAN, to)}: their perplexity under a fresh full-cache state that
     * sees only the {@link #FLUENCY_CONTEXT} tokens before them (so the scorer itself stays within its trained context).
     */
    private double fluency(int[] generated, int to) {
        int from = Math.max(0, to - FLUENCY_SPAN - FLUENCY_CONTEXT);
        int[] t = Arrays.copyOfRange(generated, from, to);
        ModelState st = model.newState(t.length, KvPolicy.parse("f32"));
        double[] nll = Perplexity.nll(model, st, t, 512);
        return Perplexity.ppl(nll, Math.max(0, nll.length - FLUENCY_SPAN), nll.length);
    }

    private void stream(Path out) throws IOException {
        md.append("## Streaming generation (greedy, from BOS)\n\nFluency: perplexity of the last " + FLUENCY_SPAN
                + " generated tokens under a fresh full cache that sees the " + FLUENCY_CONTEXT + " tokens before them"
                + " (low = the text is what the model itself finds likely; a collapsing model produces high values).\n\n"
                + "| policy | positions | decode t/s | KV bytes held | fluency ppl |\n|---|---:|---:|---:|---:|\n");
        Map<String, double[][]> tpsSeries = Plots.series(), fluencySeries = Plots.series(), bytesSeries = Plots.series();
        StringBuilder samples = new StringBuilder();
        for (int si = 0; si < o.streamPolicies().size(); si++) {
            String spec = o.streamPolicies().get(si);
            int total = o.streamTokens()[Math.min(si, o.streamTokens().length - 1)];
            int bucket = o.streamBucket();
            KvPolicy p = policy(spec, total);
            ModelState st = model.newState(total + 1, p);
            int bos = tok.bos() >= 0 ? tok.bos() : 0;
            int[] generated = new int[total];
            generated[0] = bos;
            float[] logits = model.forward(st, new int[]{bos}, false);
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>(), fs = new ArrayList<>(), bs = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int pos = 1; pos < total; pos++) {
                int next = argmax(logits);
                generated[pos] = next;
                logits = model.forward(st, new int[]{next}, false);
                if ((pos + 1) % bucket == 0) {
                    long t1 = System.nanoTime();
                    double tps = bucket / ((t1 - t0) / 1e9);
                    double fl = fluency(generated, pos + 1);
                    long bytes = cache(st).bytes();
                    xs.add((double) pos + 1);
                    ys.add(tps);
                    fs.add(fl);
                    bs.add(bytes / (1024.0 * 1024.0));
                    md.append(String.format(Locale.ROOT, "| `%s` | %d | %.1f | %,d | %.2f |%n", cache(st).describe(), pos + 1,
                            tps, bytes, fl));
                    log.printf(Locale.ROOT, "stream %s pos %d: %.1f t/s, %d bytes, fluency %.2f%n", spec, pos + 1, tps, bytes, fl);
                    t0 = System.nanoTime();
                }
            }
            String desc = cache(st).describe();
            samples.append("- `").append(desc).append("`: first tokens: \"")
                    .append(tok.decode(Arrays.copyOfRange(generated, 1, Math.min(total, 65))).replace("\n", " "))
                    .append("\" ... last tokens (up to position ").append(total).append("): \"")
                    .append(tok.decode(Arrays.copyOfRange(generated, Math.max(1, total - 64), total)).replace("\n", " "))
                    .append("\"\n");
            tpsSeries.put(desc, new double[][]{toArray(xs), toArray(ys)});
            fluencySeries.put(desc, new double[][]{toArray(xs), toArray(fs)});
            bytesSeries.put(desc, new double[][]{toArray(xs), toArray(bs)});
        }
        Plots.line(out.resolve("stream-speed.png"), "Decode speed while generating", "position", "tokens/s", tpsSeries, false, false);
        Plots.line(out.resolve("stream-fluency.png"), "Fluency of generated text (trained context "
                + model.config().contextLength() + ")", "position", "fluency perplexity", fluencySeries, false, false);
        Plots.line(out.resolve("stream-bytes.png"), "KV memory while generating", "position", "MiB held", bytesSeries, false, false);
        md.append("\n![stream speed](stream-speed.png)\n\n![stream fluency](stream-fluency.png)\n\n![stream bytes](stream-bytes.png)\n\n"
                + "Generated text samples:\n\n").append(samples).append("\n");
    }

    private static double[] toArray(List<Double> l) {
        return l.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
