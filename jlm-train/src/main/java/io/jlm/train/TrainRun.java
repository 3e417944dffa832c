package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A complete training run: the {@code shakespeare-char} preset (nanoGPT's CPU baseline), with a progress bar
 * (loss, tokens/s, ETA), periodic evaluation, a loss CSV ({@code loss.csv}), an atomically written checkpoint
 * ({@code ckpt.bin}, resumed when present and {@code resume} is set) and a summary with the median step time.
 */
public final class TrainRun {
    public record Result(double valLoss, double trainLoss, double medianStepMs, int iters) {}

    public static Result shakespeareChar(Path corpus, Path outDir, TrainConfig tc, boolean resume, boolean progress,
                                         PrintStream log) throws IOException {
        return shakespeareChar(corpus, outDir, tc, "adamw", resume, progress, log);
    }

    /** Builds the optimizer named {@code name}: adamw, sophia (Sophia-G, betas 0.965/0.99, rho 0.04, k 10) or swan. */
    public static Optimizer optimizer(String name, Model model, TrainConfig tc, ThreadPool pool) {
        return switch (name) {
            case "adamw" -> new AdamW(model.params(), tc.beta1(), tc.beta2(), 1e-8, tc.weightDecay());
            case "sophia" -> new Sophia(model.params(), 0.965, 0.99, 0.04, tc.weightDecay(), 10,
                    tc.batch() * model.cfg.blockSize());
            case "swan" -> new Swan(model.params(), tc.beta1(), tc.beta2(), tc.weightDecay(), 10, pool);
            default -> throw new IllegalArgumentException("unknown optimizer '" + name + "' (adamw, sophia, swan)");
        };
    }

    public static Result shakespeareChar(Path corpus, Path outDir, TrainConfig tc, String optimizer, boolean resume,
                                         boolean progress, PrintStream log) throws IOException {
        return shakespeareChar(corpus, outDir, tc, optimizer, ModelConfig.Arch.GPT, resume, progress, log);
    }

    /**
     * The character-level recipe with either nanoGPT's GPT or a llama-architecture model of the same size (4 layers,
     * 4 heads, 128 dims, SwiGLU FFN 384, RoPE, context 64); a llama model is also exported to {@code OUT/model.gguf}
     * (vocabulary: the characters plus {@code <unk> <s> </s>}) that {@code jlm generate} and llama.cpp run.
     */
    public static Result shakespeareChar(Path corpus, Path outDir, TrainConfig tc, String optimizer, ModelConfig.Arch arch,
                                         boolean resume, boolean progress, PrintStream log) throws IOException {
        return shakespeareChar(corpus, outDir, tc, optimizer, arch == ModelConfig.Arch.GPT
                ? vocab -> ModelConfig.gpt(vocab, 64, 4, 4, 128)
                : vocab -> ModelConfig.llama(vocab + 3, 64, 4, 4, 128, 384), resume, progress, log);
    }

    /**
     * The character-level recipe with a hybrid model of the same width given by a layer pattern (docs/JLM_ARCH.md),
     * e.g. {@code MFAFMFAF}: 4 heads, 128 dims, SwiGLU 384, context 64; exported to {@code OUT/model.gguf}.
     */
    public static Result shakespeareCharHybrid(Path corpus, Path outDir, TrainConfig tc, String optimizer, String layers,
                                               boolean resume, boolean progress, PrintStream log) throws IOException {
        MixerConfig mx = MixerConfig.of(layers, 4, 128);
        return shakespeareChar(corpus, outDir, tc, optimizer, vocab -> ModelConfig.hybrid(vocab + 3, 64, 4, 128, 384, mx),
                resume, progress, log);
    }

    /** The recipe for the model {@code config} makes from the corpus's character count. */
    public static Result shakespeareChar(Path corpus, Path outDir, TrainConfig tc, String optimizer,
                                         java.util.function.IntFunction<ModelConfig> config, boolean resume,
                                         boolean progress, PrintStream log) throws IOException {
        CharData data = CharData.load(corpus);
        ModelConfig mc = config.apply(data.vocab());
        ModelConfig.Arch arch = mc.arch();
        Model model = new Model(mc, tc.seed());
        try (ThreadPool pool = new ThreadPool(tc.threads())) {
            Trainer tr = new Trainer(model, tc, data.train, data.val, pool, optimizer(optimizer, model, tc, pool));
            Files.createDirectories(outDir);
            Path ckpt = outDir.resolve("ckpt.bin"), csv = outDir.resolve("loss.csv");
            if (resume && Files.exists(ckpt)) {
                tr.load(ckpt);
                log.printf("resumed from %s at iteration %d%n", ckpt, tr.iter());
            }
            log.printf((mc.mixers() != null ? "HYBRID " + mc.mixers().layers() : arch.toString())
                            + " %d layers, %d heads, %d dim, block %d, vocab %d: %,d parameters; batch %d, %s, %d threads%n",
                    mc.nLayer(), mc.nHead(), mc.nEmbd(), mc.blockSize(), mc.vocab(), model.parameterCount(),
                    tc.batch(), optimizer, tc.threads());
            long tokensPerStep = (long) tc.batch() * mc.blockSize();
            double[] ms = new double[Math.max(0, tc.iters() - tr.iter())];
            int nMs = 0;
            boolean append = resume && Files.exists(csv) && tr.iter() > 0;
            try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(csv,
                    append ? new java.nio.file.OpenOption[]{java.nio.file.StandardOpenOption.APPEND}
                           : new java.nio.file.OpenOption[0]));
                 ProgressBar pb = progress ? new ProgressBarBuilder().setTaskName("train").setInitialMax(tc.iters())
                         .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).continuousUpdate().build() : null) {
                if (!append) out.println("iter,lr,train_loss,val_loss,step_ms");
                if (pb != null) pb.stepTo(tr.iter());
                double smooth = Double.NaN;
                while (tr.iter() < tc.iters()) {
                    int it = tr.iter();
                    double lr = tr.lr();
                    long t0 = System.nanoTime();
                    float loss = tr.step();
                    double dt = (System.nanoTime() - t0) / 1e6;
                    ms[nMs++] = dt;
                    smooth = Double.isNaN(smooth) ? loss : 0.9 * smooth + 0.1 * loss;
                    String val = "";
                    if ((tr.iter() % tc.evalInterval() == 0) || tr.iter() == tc.iters()) {
                        double v = tr.valLoss();
                        val = String.format("%.4f", v);
                        if (pb == null) log.printf("iter %d: train loss %.4f, val loss %.4f%n", tr.iter(), loss, v);
                        tr.save(ckpt);
                    }
                    out.printf("%d,%.6g,%.5f,%s,%.2f%n", it, lr, loss, val, dt);
                    if (pb != null) {
                        pb.stepTo(tr.iter());
                        pb.setExtraMessage(String.format("loss %.3f, %.0f tok/s", smooth, tokensPerStep * 1000 / dt));
                    }
                }
            }
            double median = Double.NaN;
            if (nMs > 0) { double[] s = Arrays.copyOf(ms, nMs); Arrays.sort(s); median = s[nMs / 2]; }
            double vl = tr.valLoss(), tl = tr.trainLoss();
            log.printf("done: %d iterations, train loss %.4f, val loss %.4f, median step %.1f ms (%,.0f tokens/s)%n",
                    tr.iter(), tl, vl, median, tokensPerStep * 1000 / median);
            LossPlot.write(csv, outDir.resolve("loss.png"), log);
            if (arch != ModelConfig.Arch.GPT) {
                Path gguf = outDir.resolve("model.gguf");
                GgufExport.writeAny(model, GgufExport.charVocabulary(data.chars),
                        arch == ModelConfig.Arch.LLAMA ? "shakespeare-char-llama" : "shakespeare-char-" + mc.mixers().layers(), gguf);
                log.printf("exported %s%n", gguf);
            }
            return new Result(vl, tl, median, tr.iter());
        }
    }

    public static void main(String[] args) throws IOException {
        int iters = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        Path corpus = Path.of(args.length > 1 ? args[1] : "/work/shared/corpora/tinyshakespeare.txt");
        shakespeareChar(corpus, Path.of(args.length > 2 ? args[2] : "out-shakespeare-char"),
                TrainConfig.shakespeareChar().withIters(iters), false, false, System.out);
    }
}
