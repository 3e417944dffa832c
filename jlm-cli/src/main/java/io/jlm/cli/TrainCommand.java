package io.jlm.cli;

import io.jlm.train.TrainConfig;
import io.jlm.train.TrainRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Trains a small language model from scratch (see docs/TRAINING.md).")
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--preset", defaultValue = "shakespeare-char",
            description = "training recipe; 'shakespeare-char' = nanoGPT's CPU baseline (char-level GPT, 4 layers, 4 heads, dim 128, block 64, batch 12);"
                    + " 'shakespeare-char-llama' = the same size as a llama model, exported to OUT/model.gguf;"
                    + " 'passkey-char' = a char-level llama (4 layers, 64 dims, context 256) trained to answer the passkey prompts"
                    + " of 'jlm eval longctx' (OUT/model.gguf)")
    String preset;

    @Option(names = "--data", defaultValue = "../shared/corpora/tinyshakespeare.txt", description = "training text (default ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--iters", description = "iterations (default 2000)") Integer iters;
    @Option(names = "--lr", description = "peak learning rate (default 1e-3, nanoGPT's)") Double lr;
    @Option(names = "--min-lr", description = "learning rate at the end of the cosine decay (default lr / 10)") Double minLr;
    @Option(names = "--warmup", description = "linear warm-up iterations (default 100)") Integer warmup;
    @Option(names = "--out", defaultValue = "out-shakespeare-char", description = "output directory: ckpt.bin, loss.csv, loss.png (default ${DEFAULT-VALUE})")
    Path out;
    @Option(names = "--resume", description = "continue from OUT/ckpt.bin when it exists") boolean resume;
    @Option(names = "--seed", description = "random seed (default 1337)") Long seed;
    @Option(names = {"-t", "--threads"}, description = "threads (default: all cores)") Integer threads;
    @Option(names = "--eval-iters", defaultValue = "200", description = "batches per loss evaluation (default ${DEFAULT-VALUE})")
    int evalIters;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw, sophia or swan (default ${DEFAULT-VALUE})")
    String optimizer;
    @Option(names = "--layers", description = "train a hybrid model of this layer pattern instead of the preset's "
            + "architecture (same width: 4 heads, 128 dims, SwiGLU 384, context 64), e.g. MFAFMFAF; letters A W F L R S H M "
            + "(docs/JLM_ARCH.md); exported to OUT/model.gguf")
    String layers;
    @Option(names = "--no-progress", description = "log evaluations as lines instead of a progress bar") boolean noProgress;

    @Override
    public Integer call() throws Exception {
        if (preset.equals("passkey-char")) {
            if (lr != null || minLr != null || warmup != null)
                throw new IllegalArgumentException("--lr, --min-lr and --warmup apply to the shakespeare-char presets, not to passkey-char");
            io.jlm.eval.PasskeyTraining.run(out, iters != null ? iters : 1500, 256, threads != null ? threads
                    : Runtime.getRuntime().availableProcessors(), seed != null ? seed : 1337, System.out);
            return 0;
        }
        io.jlm.train.ModelConfig.Arch arch = switch (preset) {
            case "shakespeare-char" -> io.jlm.train.ModelConfig.Arch.GPT;
            case "shakespeare-char-llama" -> io.jlm.train.ModelConfig.Arch.LLAMA;
            default -> throw new IllegalArgumentException("unknown preset '" + preset + "' (known: shakespeare-char, shakespeare-char-llama, passkey-char)");
        };
        TrainConfig d = TrainConfig.shakespeareChar();
        int n = iters != null ? iters : d.iters();
        double peak = lr != null ? lr : d.lr(), floor = minLr != null ? minLr : peak / 10;
        int wu = warmup != null ? warmup : d.warmup();
        if (!(peak > 0) || !(floor >= 0) || floor > peak)
            throw new IllegalArgumentException("--lr must be > 0 and --min-lr in [0, lr] (got lr " + peak + ", min-lr " + floor + ")");
        if (wu < 0 || wu >= d.decayIters())
            throw new IllegalArgumentException("--warmup must be in [0, " + d.decayIters() + ") (the cosine decay spans "
                    + d.decayIters() + " iterations; got " + wu + ")");
        TrainConfig tc = new TrainConfig(n, d.batch(), peak, floor, wu,
                d.decayIters(), d.beta1(), d.beta2(), d.weightDecay(), d.gradClip(), d.evalInterval(), evalIters,
                seed != null ? seed : d.seed(), threads != null ? threads : d.threads());
        if (layers != null) TrainRun.shakespeareCharHybrid(data, out, tc, optimizer, layers, resume, !noProgress, System.out);
        else TrainRun.shakespeareChar(data, out, tc, optimizer, arch, resume, !noProgress, System.out);
        return 0;
    }
}
