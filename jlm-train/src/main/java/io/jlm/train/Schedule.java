package io.jlm.train;

/** A learning-rate schedule: the rate for step {@code it} (0-based). */
@FunctionalInterface
public interface Schedule {
    double lr(int it);

    static Schedule constant(double lr) { return it -> lr; }

    /** Linear warm-up from 0 over {@code warmup} steps, then cosine decay to {@code minLr} at {@code decaySteps}, constant after (nanoGPT). */
    static Schedule warmupCosine(double lr, double minLr, int warmup, int decaySteps) {
        return it -> {
            if (it < warmup) return lr * (it + 1) / (warmup + 1);
            if (it > decaySteps) return minLr;
            double ratio = (double) (it - warmup) / (decaySteps - warmup);
            return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (lr - minLr);
        };
    }

    /** Warm-up, constant, then a linear cool-down to {@code minLr} over the last {@code cooldown} of {@code total} steps. */
    static Schedule constantWithCooldown(double lr, double minLr, int warmup, int cooldown, int total) {
        return it -> {
            if (it < warmup) return lr * (it + 1) / (warmup + 1);
            int start = total - cooldown;
            if (it < start) return lr;
            double f = Math.min(1.0, (double) (it - start) / Math.max(1, cooldown));
            return lr + f * (minLr - lr);
        };
    }
}
