package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;

import java.io.*;
import java.nio.file.*;
import java.util.List;

/**
 * Trains a {@link Model} on token streams: fixed-shape graphs for training and evaluation are recorded once,
 * then each step draws a batch from the seeded {@link Rng}, runs forward/backward, clips and applies AdamW.
 * Everything that influences later steps (weights, optimizer moments, step count, generator state) is in the
 * checkpoint, so a resumed run continues bit-exactly.
 */
public final class Trainer {
    public final Model model;
    public final TrainConfig cfg;
    public final Optimizer opt;
    private final BatchSource train, val;
    private final Rng rng;
    private final Model.Step step;
    private final Schedule schedule;
    private int iter;

    /** A trainer with AdamW ({@code cfg}'s betas and weight decay, eps 1e-8). */
    public Trainer(Model model, TrainConfig cfg, int[] train, int[] val, ThreadPool pool) {
        this(model, cfg, train, val, pool, new AdamW(model.params(), cfg.beta1(), cfg.beta2(), 1e-8, cfg.weightDecay()));
    }

    /** A trainer with the given optimizer (built over {@code model.params()}). */
    public Trainer(Model model, TrainConfig cfg, int[] train, int[] val, ThreadPool pool, Optimizer opt) {
        this(model, cfg, stream(train, model.cfg.blockSize()), val == null ? null : stream(val, model.cfg.blockSize()), pool, opt);
    }

    /** A trainer on batches from {@code train} (and {@code val} for {@link #valLoss}, may be null). */
    public Trainer(Model model, TrainConfig cfg, BatchSource train, BatchSource val, ThreadPool pool, Optimizer opt) {
        this.model = model; this.cfg = cfg; this.train = train; this.val = val;
        this.rng = new Rng(cfg.seed() ^ 0x5DEECE66DL);
        this.opt = opt;
        this.step = model.build(new Graph(pool), cfg.batch(), model.cfg.blockSize(), train.packed());
        this.schedule = cfg.schedule();
    }

    /**
     * Fills one batch: {@code ids} and {@code targets} hold {@code ids.length / T} rows of {@code T} tokens;
     * a target of {@code -1} is not scored. Only {@code rng} may be used for randomness (checkpoints restore it).
     */
    @FunctionalInterface
    public interface BatchSource {
        void fill(Rng rng, int[] ids, int[] targets);

        /**
         * Packed sources put several documents in a row and also fill {@code docStart}: for each position, the index
         * within its sequence where its document starts (see {@link Model#build(Graph, int, int, boolean)}).
         */
        default void fill(Rng rng, int[] ids, int[] targets, int[] docStart) {
            fill(rng, ids, targets);
            java.util.Arrays.fill(docStart, 0);
        }

        /** Whether {@link #fill(Rng, int[], int[], int[])} packs documents (the trainer then records a masked graph). */
        default boolean packed() { return false; }
    }

    /** Random windows of a token stream (next-token targets), as nanoGPT draws them. */
    public static BatchSource stream(int[] data, int t) {
        if (data.length <= t) throw new IllegalArgumentException("data (" + data.length + " tokens) shorter than block size " + t);
        return (rng, ids, targets) -> CharData.batch(data, ids.length / t, t, rng, ids, targets);
    }

    public int iter() { return iter; }
    public Model.Step graph() { return step; }

    /** One optimisation step; returns the training loss of its batch. */
    public float step() {
        fill(train, rng);
        Graph g = step.graph();
        g.forward();
        model.zeroGrad();
        g.backward(step.loss());
        AdamW.clipGradNorm(model.params(), cfg.gradClip());
        opt.step(schedule.lr(iter));
        float loss = step.loss().data[0];
        if (opt instanceof Sophia s && s.hessianDue(iter)) refreshHessian(s);
        iter++;
        return loss;
    }

    /** Sophia-G's estimator: forward with the updated weights, labels sampled from the model's softmax, backward, h update. */
    private void refreshHessian(Sophia s) {
        Graph g = step.graph();
        g.forward();
        float[] logits = step.logits().data;
        int v = model.cfg.vocab(), rows = step.targets().length;
        for (int r = 0; r < rows; r++) {
            int o = r * v;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) max = Math.max(max, logits[o + j]);
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.exp(logits[o + j] - max);
            double u = rng.nextDouble() * sum, c = 0;
            int pick = v - 1;
            for (int j = 0; j < v; j++) { c += Math.exp(logits[o + j] - max); if (u < c) { pick = j; break; } }
            step.targets()[r] = pick;
        }
        model.zeroGrad();
        g.backward(step.loss());
        s.updateHessian();
    }

    public double lr() { return schedule.lr(iter); }

    private void fill(BatchSource src, Rng r) {
        if (step.packed()) src.fill(r, step.ids(), step.targets(), step.docStart());
        else src.fill(r, step.ids(), step.targets());
    }

    /** Mean loss over {@code iters} batches drawn from {@code data} with a generator of its own (does not disturb training). */
    public double evaluate(int[] data, int iters, long seed) { return evaluate(stream(data, model.cfg.blockSize()), iters, seed); }

    /** Mean loss over {@code iters} batches of {@code data} drawn with a generator of its own. */
    public double evaluate(BatchSource data, int iters, long seed) {
        Rng r = new Rng(seed);
        double sum = 0;
        for (int i = 0; i < iters; i++) {
            fill(data, r);
            step.graph().forward();
            sum += step.loss().data[0];
        }
        return sum / iters;
    }
    public double valLoss() { return evaluate(val, cfg.evalIters(), 42); }
    public double trainLoss() { return evaluate(train, cfg.evalIters(), 43); }

    // ------------------------------------------------------------------ checkpoints

    private static final long MAGIC = 0x4A4C4D434B505431L; // "JLMCKPT1"

    /** Writes a checkpoint atomically: to a temporary file in the same directory, then renamed over {@code file}. */
    public void save(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))) {
            out.writeLong(MAGIC);
            out.writeInt(iter); out.writeLong(rng.state()); out.writeInt(opt.t);
            List<Model.Param> ps = model.params();
            out.writeInt(ps.size());
            for (int i = 0; i < ps.size(); i++) {
                out.writeUTF(ps.get(i).name());
                float[] w = ps.get(i).tensor().data;
                out.writeInt(w.length);
                writeFloats(out, w); writeFloats(out, opt.m[i]); writeFloats(out, opt.v[i]);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Restores a checkpoint written by {@link #save} for the same model configuration. */
    public void load(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            if (in.readLong() != MAGIC) throw new IOException(file + ": not a jlm-train checkpoint (bad magic)");
            iter = in.readInt(); rng.setState(in.readLong()); opt.t = in.readInt();
            List<Model.Param> ps = model.params();
            int n = in.readInt();
            if (n != ps.size()) throw new IOException(file + ": " + n + " parameters, model has " + ps.size());
            for (int i = 0; i < n; i++) {
                String name = in.readUTF();
                float[] w = ps.get(i).tensor().data;
                int len = in.readInt();
                if (!name.equals(ps.get(i).name()) || len != w.length)
                    throw new IOException(file + ": parameter " + i + " is " + name + "[" + len + "], expected "
                            + ps.get(i).name() + "[" + w.length + "]");
                readFloats(in, w); readFloats(in, opt.m[i]); readFloats(in, opt.v[i]);
            }
        }
    }

    private static void writeFloats(DataOutputStream out, float[] a) throws IOException {
        for (float f : a) out.writeInt(Float.floatToRawIntBits(f));
    }
    private static void readFloats(DataInputStream in, float[] a) throws IOException {
        for (int i = 0; i < a.length; i++) a[i] = Float.intBitsToFloat(in.readInt());
    }
}
