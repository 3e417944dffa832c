package io.jlm.train;

/** Optimisation settings (defaults are nanoGPT's shakespeare_char CPU baseline). */
public record TrainConfig(int iters, int batch, double lr, double minLr, int warmup, int decayIters,
                          double beta1, double beta2, double weightDecay, double gradClip,
                          int evalInterval, int evalIters, long seed, int threads) {
    public static TrainConfig shakespeareChar() {
        return new TrainConfig(2000, 12, 1e-3, 1e-4, 100, 2000, 0.9, 0.99, 0.1, 1.0, 250, 200, 1337,
                Runtime.getRuntime().availableProcessors());
    }
    public TrainConfig withIters(int n) {
        return new TrainConfig(n, batch, lr, minLr, warmup, decayIters, beta1, beta2, weightDecay, gradClip,
                evalInterval, evalIters, seed, threads);
    }
    public Schedule schedule() { return Schedule.warmupCosine(lr, minLr, warmup, decayIters); }
}
