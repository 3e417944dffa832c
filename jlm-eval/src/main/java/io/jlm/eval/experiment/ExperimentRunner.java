package io.jlm.eval.experiment;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.eval.Plots;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.models.Models;
import io.jlm.tasks.Example;
import io.jlm.tasks.Task;
import io.jlm.tasks.Tasks;
import io.jlm.train.AdamW;
import io.jlm.train.GgufExport;
import io.jlm.train.Graph;
import io.jlm.train.MixerConfig;
import io.jlm.train.Model;
import io.jlm.train.ModelConfig;
import io.jlm.train.Rng;
import io.jlm.train.TrainConfig;
import io.jlm.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * Runs an {@link ExperimentSpec}: for every task and every architecture, trains a model from the same seed under the
 * same budget, scores it per evaluation length, then times decode per context length with the engine on the exported
 * GGUF, and writes {@code report.md}, CSVs and PNG plots into the output directory.
 */
public final class ExperimentRunner {
    private final ExperimentSpec spec;
    private final PrintStream log;

    public ExperimentRunner(ExperimentSpec spec, PrintStream log) { this.spec = spec; this.log = log; }

    /** The result of one (task, model) training run. */
    public record Run(String model, String task, long params, double[] tokens, double[] loss, int[] evalLengths,
                      double[] accuracy, double seconds, Path gguf, MixerConfig.Position position) {}

    /** Decode speed and state size per context length of one model. */
    public record Decode(String model, int[] contexts, double[] tokensPerSecond, long[] stateBytes) {}

    public record Result(List<Run> runs, List<Decode> decodes) {}

    public Result run(Path outDir, String command) throws IOException {
        Files.createDirectories(outDir);
        List<Run> runs = new ArrayList<>();
        int threads = spec.train().threads() > 0 ? spec.train().threads() : Runtime.getRuntime().availableProcessors();
        try (ThreadPool pool = new ThreadPool(threads)) {
            for (ExperimentSpec.TaskSpec ts : spec.tasks())
                for (ExperimentSpec.Arch arch : spec.models()) runs.add(train(ts, arch, pool, outDir));
            List<Decode> decodes = new ArrayList<>();
            if (spec.decode() != null && !spec.decode().contexts().isEmpty()) {
                String first = spec.tasks().get(0).id();
                for (Run r : runs) if (r.task().equals(first)) decodes.add(decode(r, pool));
            }
            Result res = new Result(runs, decodes);
            report(res, outDir, command);
            return res;
        }
    }

    // ------------------------------------------------------------------ training and scoring

    static List<Task> tasks(String name, List<Map<String, String>> params) {
        List<Task> out = new ArrayList<>();
        for (Map<String, String> p : params) {
            Map<String, String> q = new java.util.LinkedHashMap<>(p);
            q.remove(ExperimentSpec.FROM_STEP);
            out.add(Tasks.create(name, q, null));
        }
        return out;
    }

    /**
     * Rows of {@code t} tokens, each an example of a variant drawn uniformly among those whose {@code from} step is at
     * most {@code step.getAsInt()} (a curriculum; with every {@code from} 0, one draw among all variants), padded with
     * token 0 and unscored targets.
     */
    static Trainer.BatchSource batches(List<Task> variants, int[] from, IntSupplier step, int t) {
        return (rng, ids, targets) -> {
            for (int row = 0; row < ids.length / t; row++) {
                Example e = pick(variants, from, step.getAsInt(), rng).sample(rng);
                int n = e.length();
                System.arraycopy(e.tokens(), 0, ids, row * t, n);
                System.arraycopy(e.targets(), 0, targets, row * t, n);
                java.util.Arrays.fill(ids, row * t + n, row * t + t, 0);
                java.util.Arrays.fill(targets, row * t + n, row * t + t, -1);
            }
        };
    }

    /**
     * Rows of {@code t} tokens packed with whole examples (variants drawn as {@link #batches}) while they fit; the rest
     * padded, unscored.
     */
    static Trainer.BatchSource packedBatches(List<Task> variants, int[] from, IntSupplier step, int t) {
        Trainer.BatchSource unpacked = batches(variants, from, step, t);
        return new Trainer.BatchSource() {
            @Override public void fill(Rng rng, int[] ids, int[] targets) { unpacked.fill(rng, ids, targets); }
            @Override public boolean packed() { return true; }
            @Override public void fill(Rng rng, int[] ids, int[] targets, int[] docStart) {
                for (int row = 0; row < ids.length / t; row++) {
                    int p = 0, o = row * t;
                    Example e = pick(variants, from, step.getAsInt(), rng).sample(rng);
                    while (p + e.length() <= t) {
                        System.arraycopy(e.tokens(), 0, ids, o + p, e.length());
                        System.arraycopy(e.targets(), 0, targets, o + p, e.length());
                        java.util.Arrays.fill(docStart, o + p, o + p + e.length(), p);
                        p += e.length();
                        e = pick(variants, from, step.getAsInt(), rng).sample(rng);
                    }
                    java.util.Arrays.fill(ids, o + p, o + t, 0);
                    java.util.Arrays.fill(targets, o + p, o + t, -1);
                    java.util.Arrays.fill(docStart, o + p, o + t, p);
                }
            }
        };
    }

    /** A uniformly random one of the variants available at {@code step} (one {@code nextInt} draw, as without a curriculum). */
    static Task pick(List<Task> variants, int[] from, int step, Rng rng) {
        int n = 0;
        for (int f : from) if (f <= step) n++;
        int k = rng.nextInt(n);
        for (int i = 0; i < from.length; i++) if (from[i] <= step && k-- == 0) return variants.get(i);
        throw new IllegalStateException("no training variant at step " + step);
    }

    private Run train(ExperimentSpec.TaskSpec ts, ExperimentSpec.Arch arch, ThreadPool pool, Path outDir) throws IOException {
        List<Task> trainTasks = tasks(ts.task(), ts.train()), evalTasks = tasks(ts.task(), ts.eval());
        int vocab = 0, t = 0;
        for (Task k : trainTasks) { vocab = Math.max(vocab, k.vocabSize()); t = Math.max(t, k.sequenceLength()); }
        for (Task k : evalTasks) vocab = Math.max(vocab, k.vocabSize());
        ExperimentSpec.ModelSpec ms = spec.model();
        MixerConfig mx = MixerConfig.of(arch.layers(), ms.heads(), ms.dim());
        if (ms.window() > 0) mx = mx.withWindow(ms.window());
        if (ms.s4dModes() > 0) mx = mx.withSsm(ms.s4dModes(), mx.h3Shift(), mx.ssmInner(), mx.ssmConv(), mx.ssmState(), mx.ssmDtRank());
        mx = mx.withPosition(position(positionOf(arch)));
        ModelConfig mc = ModelConfig.hybrid(vocab, t, ms.heads(), ms.dim(), ms.ffn(), mx);
        ExperimentSpec.TrainSpec tr = spec.train();
        TrainConfig tc = new TrainConfig(tr.steps(), tr.batch(), tr.lr(), tr.minLr() > 0 ? tr.minLr() : tr.lr() / 10,
                tr.warmup(), tr.steps(), 0.9, 0.99, tr.weightDecay(), 1.0, tr.steps(), 1, spec.seed(), pool.threads());
        Model model = new Model(mc, spec.seed(), ms.init());
        int[] from = ts.train().stream().mapToInt(ExperimentSpec::fromStep).toArray(), now = {0};
        IntSupplier step = () -> now[0];
        Trainer trainer = new Trainer(model, tc, tr.isPacked() ? packedBatches(trainTasks, from, step, t) : batches(trainTasks, from, step, t), null, pool,
                new AdamW(model.params(), tc.beta1(), tc.beta2(), 1e-8, tc.weightDecay()));
        log.printf("%s / %s (%s): %,d parameters, %d steps of %d x %d tokens%n", ts.id(), arch.name(), arch.layers(),
                model.parameterCount(), tr.steps(), tr.batch(), t);
        double[] tokens = new double[tr.steps()], loss = new double[tr.steps()];
        long t0 = System.nanoTime();
        double smooth = Double.NaN;
        for (int i = 0; i < tr.steps(); i++) {
            now[0] = i;
            float l = trainer.step();
            smooth = Double.isNaN(smooth) ? l : 0.95 * smooth + 0.05 * l;
            tokens[i] = (double) (i + 1) * tr.batch() * t;
            loss[i] = smooth;
            if ((i + 1) % Math.max(1, tr.steps() / 5) == 0) log.printf("  step %d: loss %.4f%n", i + 1, smooth);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int[] lengths = new int[evalTasks.size()];
        double[] acc = new double[evalTasks.size()];
        for (int i = 0; i < evalTasks.size(); i++) {
            lengths[i] = evalTasks.get(i).sequenceLength();
            acc[i] = accuracy(model, evalTasks.get(i), ts.evalExamples(), pool, spec.seed() + 1000 + i);
        }
        log.printf("  %.1f s; accuracy by length:%s%n", secs, joinAcc(lengths, acc));
        Path gguf = outDir.resolve("models").resolve(ts.id() + "-" + arch.name() + ".gguf");
        Files.createDirectories(gguf.getParent());
        String[] vocabTokens = new String[vocab];
        for (int i = 0; i < vocab; i++) vocabTokens[i] = "<t" + i + ">";
        GgufExport.writeAny(model, vocabTokens, ts.id() + "-" + arch.name(), gguf);
        return new Run(arch.name(), ts.id(), model.parameterCount(), tokens, loss, lengths, acc, secs, gguf, mx.position());
    }

    /** The positional encoding of {@code arch}: its own, else the spec's, else RoPE. */
    private String positionOf(ExperimentSpec.Arch arch) {
        return arch.position() != null ? arch.position() : spec.model().position() != null ? spec.model().position() : "rope";
    }

    private static MixerConfig.Position position(String name) {
        try {
            return MixerConfig.Position.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("experiment spec: position '" + name + "'; expected rope, alibi, none or learned");
        }
    }

    private static String joinAcc(int[] len, double[] acc) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < len.length; i++) sb.append(String.format(" %d:%.3f", len[i], acc[i]));
        return sb.toString();
    }

    /** Fraction of scored positions whose argmax is the target, over {@code examples} fresh examples of {@code task}. */
    static double accuracy(Model model, Task task, int examples, ThreadPool pool, long seed) {
        int t = task.sequenceLength(), batch = Math.min(examples, 16), v = model.cfg.vocab();
        if (t > model.cfg.blockSize() && model.cfg.mixers().position() == MixerConfig.Position.LEARNED)
            return Double.NaN;    // learned absolute positions do not exist past the training length
        Model.Step step = model.build(new Graph(pool), batch, t);
        Rng rng = new Rng(seed);
        long correct = 0, scored = 0;
        for (int done = 0; done < examples; done += batch) {
            for (int b = 0; b < batch; b++) {
                Example e = task.sample(rng);
                System.arraycopy(e.tokens(), 0, step.ids(), b * t, t);
                System.arraycopy(e.targets(), 0, step.targets(), b * t, t);
            }
            step.graph().forward();
            float[] logits = step.logits().data;
            int rows = Math.min(batch, examples - done);
            for (int r = 0; r < rows * t; r++) {
                int tg = step.targets()[r];
                if (tg < 0) continue;
                int best = 0;
                for (int j = 1; j < v; j++) if (logits[r * v + j] > logits[r * v + best]) best = j;
                if (best == tg) correct++;
                scored++;
            }
        }
        return scored == 0 ? Double.NaN : (double) correct / scored;
    }

    // ------------------------------------------------------------------ decode speed

    private Decode decode(Run r, ThreadPool pool) throws IOException {
        ExperimentSpec.DecodeSpec ds = spec.decode();
        int n = ds.contexts().size(), round = Math.max(1, ds.tokens() / 4);   // 4 timed rounds of `round` tokens
        int[] ctx = new int[n];
        double[] tps = new double[n];
        long[] bytes = new long[n];
        try (LanguageModel lm = Models.load(r.gguf(), pool)) {
            int vocab = lm.config().vocabSize();
            Rng rng = new Rng(spec.seed());
            ModelState warm = lm.newState(Math.min(r.position() == MixerConfig.Position.LEARNED
                    ? lm.config().contextLength() : Integer.MAX_VALUE, 1024));
            int[] one = {0};
            for (int g = 0; g < warm.capacity(); g++) { one[0] = rng.nextInt(vocab); lm.forward(warm, one, false); }   // JIT warm-up
            for (int i = 0; i < n; i++) {
                ctx[i] = ds.contexts().get(i);
                int capacity = ctx[i] + 4 * round + 1;
                if (r.position() == MixerConfig.Position.LEARNED && capacity > lm.config().contextLength()) {
                    tps[i] = Double.NaN; bytes[i] = -1;
                    continue;
                }
                ModelState st = lm.newState(capacity);
                int[] prompt = new int[ctx[i]];
                for (int j = 0; j < prompt.length; j++) prompt[j] = rng.nextInt(vocab);
                for (int s = 0; s < prompt.length; s += 512)
                    lm.forward(st, java.util.Arrays.copyOfRange(prompt, s, Math.min(prompt.length, s + 512)), false);
                double best = 0;                 // the fastest of the rounds (least disturbed by other load)
                for (int k = 0; k < 4; k++) {
                    long t0 = System.nanoTime();
                    for (int g = 0; g < round; g++) {
                        one[0] = rng.nextInt(vocab);
                        lm.forward(st, one, false);
                    }
                    best = Math.max(best, round / ((System.nanoTime() - t0) / 1e9));
                }
                tps[i] = best;
                bytes[i] = st.bytes();
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.append(String.format(" %d:%.0f tok/s (%,d B)", ctx[i], tps[i], bytes[i]));
        log.printf("decode %s:%s%n", r.model(), sb);
        return new Decode(r.model(), ctx, tps, bytes);
    }

    // ------------------------------------------------------------------ report

    private void report(Result res, Path dir, String command) throws IOException {
        StringBuilder md = new StringBuilder();
        md.append("# Experiment: ").append(spec.name()).append("\n\n");
        if (spec.description() != null) md.append(spec.description()).append("\n\n");
        md.append("Reproduce with:\n\n```\n").append(command).append("\n```\n\n");
        ExperimentSpec.ModelSpec ms = spec.model();
        ExperimentSpec.TrainSpec tr = spec.train();
        md.append(String.format("Every model: width %d, %d heads, MLP %d, window %d, %d S4D modes, positions %s, init std %s; "
                        + "AdamW lr %g, weight decay %g, %d steps of batch %d%s, seed %d. Accuracy: fraction of scored tokens "
                        + "predicted exactly (argmax), on fresh examples.%n%n", ms.dim(), ms.heads(), ms.ffn(), ms.window(),
                ms.s4dModes(), ms.position() == null ? "rope" : ms.position(), ms.init(), tr.lr(), tr.weightDecay(),
                tr.steps(), tr.batch(),
                tr.isPacked() ? " (packed sequences, document masking)" : "", spec.seed()));
        md.append("| model | layers | positions |\n|---|---|---|\n");
        for (ExperimentSpec.Arch a : spec.models())
            md.append("| ").append(a.name()).append(" | `").append(a.layers()).append("` | ")
                    .append(positionOf(a)).append(" |\n");
        md.append("\n");
        for (ExperimentSpec.TaskSpec ts : spec.tasks()) {
            List<Run> rs = res.runs().stream().filter(r -> r.task().equals(ts.id())).toList();
            md.append("## ").append(ts.id()).append(ts.label() != null ? " (task `" + ts.task() + "`)" : "").append("\n\n");
            md.append("Training variants: ").append(ts.train()).append("; evaluation variants: ").append(ts.eval()).append(".\n\n");
            md.append("| model | parameters | final loss | train s |");
            int[] lens = rs.get(0).evalLengths();
            for (int l : lens) md.append(" acc @").append(l).append(" |");
            md.append("\n|---|---:|---:|---:|");
            for (int l : lens) md.append("---:|");
            md.append("\n");
            Map<String, double[][]> lossSeries = Plots.series(), accSeries = Plots.series();
            StringBuilder csv = new StringBuilder("model,length,accuracy\n");
            for (Run r : rs) {
                md.append(String.format("| %s | %,d | %.4f | %.0f |", r.model(), r.params(), r.loss()[r.loss().length - 1], r.seconds()));
                for (double a : r.accuracy()) md.append(Double.isNaN(a) ? " n/a |" : String.format(" %.3f |", a));
                md.append("\n");
                lossSeries.put(r.model(), thin(r.tokens(), r.loss(), 200));
                for (int i = 0; i < r.evalLengths().length; i++)
                    csv.append(String.format("%s,%d,%.4f%n", r.model(), r.evalLengths()[i], r.accuracy()[i]));
                accSeries.put(r.model(), measured(r.evalLengths(), r.accuracy()));
            }
            Files.writeString(dir.resolve(ts.id() + "-accuracy.csv"), csv.toString());
            Plots.line(dir.resolve(ts.id() + "-loss.png"), ts.id() + ": training loss (smoothed)", "tokens", "loss", lossSeries, false, true);
            Plots.line(dir.resolve(ts.id() + "-accuracy.png"), ts.id() + ": accuracy vs sequence length", "sequence length",
                    "accuracy", accSeries, false, false);
            md.append("\n![loss](").append(ts.id()).append("-loss.png)\n![accuracy](").append(ts.id()).append("-accuracy.png)\n\n");
        }
        if (!res.decodes().isEmpty()) {
            md.append("## Decode speed vs context\n\n");
            md.append(String.format("The models trained on `%s`, exported to GGUF and run by the jlm engine (recurrent "
                    + "state for SSM and linear layers, KV cache for attention); after a JIT warm-up and a random prompt of "
                    + "each length, %d tokens decoded in 4 rounds, the fastest round reported; %d threads. State bytes: what "
                    + "the sequence's state holds after the prompt and the decoded tokens.%n%n",
                    spec.tasks().get(0).id(), spec.decode().tokens(), spec.train().threads()));
            md.append("| model |");
            for (int c : res.decodes().get(0).contexts()) md.append(" tok/s @").append(c).append(" |");
            for (int c : res.decodes().get(0).contexts()) md.append(" state KiB @").append(c).append(" |");
            md.append("\n|---|");
            for (int i = 0; i < 2 * res.decodes().get(0).contexts().length; i++) md.append("---:|");
            md.append("\n");
            Map<String, double[][]> sp = Plots.series();
            StringBuilder csv = new StringBuilder("model,context,tokens_per_s,state_bytes\n");
            for (Decode d : res.decodes()) {
                md.append("| ").append(d.model()).append(" |");
                for (double v : d.tokensPerSecond()) md.append(Double.isNaN(v) ? " n/a |" : String.format(" %.0f |", v));
                for (long b : d.stateBytes()) md.append(b < 0 ? " n/a |" : String.format(" %,.0f |", b / 1024.0));
                md.append("\n");
                for (int i = 0; i < d.contexts().length; i++)
                    csv.append(String.format("%s,%d,%.1f,%d%n", d.model(), d.contexts()[i], d.tokensPerSecond()[i], d.stateBytes()[i]));
                sp.put(d.model(), measured(d.contexts(), d.tokensPerSecond()));
            }
            Files.writeString(dir.resolve("decode.csv"), csv.toString());
            Plots.line(dir.resolve("decode.png"), "decode tokens/s vs context", "context (tokens)", "tokens/s", sp, true, true);
            md.append("\n![decode](decode.png)\n");
        }
        Files.writeString(dir.resolve("report.md"), md.toString());
        StringBuilder loss = new StringBuilder("task,model,tokens,loss\n");
        for (Run r : res.runs()) {
            double[][] th = thin(r.tokens(), r.loss(), 200);
            for (int i = 0; i < th[0].length; i++) loss.append(String.format("%s,%s,%.0f,%.5f%n", r.task(), r.model(), th[0][i], th[1][i]));
        }
        Files.writeString(dir.resolve("loss.csv"), loss.toString());
        log.printf("wrote %s%n", dir.resolve("report.md"));
    }

    /** The points {@code (x[i], y[i])} of a plot series whose {@code y} was measured (not NaN: n/a). */
    private static double[][] measured(int[] x, double[] y) {
        int[] keep = java.util.stream.IntStream.range(0, x.length).filter(i -> !Double.isNaN(y[i])).toArray();
        double[] xs = new double[keep.length], ys = new double[keep.length];
        for (int i = 0; i < keep.length; i++) { xs[i] = x[keep[i]]; ys[i] = y[keep[i]]; }
        return new double[][]{xs, ys};
    }

    /** At most {@code n} evenly spaced points of a curve (always keeping the last). */
    private static double[][] thin(double[] x, double[] y, int n) {
        if (x.length <= n) return new double[][]{x, y};
        double[] xs = new double[n], ys = new double[n];
        for (int i = 0; i < n; i++) {
            int j = (int) ((long) (i + 1) * x.length / n) - 1;
            xs[i] = x[j]; ys[i] = y[j];
        }
        return new double[][]{xs, ys};
    }
}
