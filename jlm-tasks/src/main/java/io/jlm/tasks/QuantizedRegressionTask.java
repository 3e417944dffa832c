package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * {@link LinearRegressionTask} as a token task: every input component and every output is quantized into one of
 * {@code bins} equal bins over {@code [-range, range]} (values outside are clamped). Tokens: bin ids {@code [0, bins)}.
 * Layout: {@code x_1 (dim tokens) y_1 x_2 y_2 ...}; every {@code y} token is scored (predicted from the last token of
 * its {@code x}). {@link #binCenter} maps a predicted token back to a value, so a model's squared error can be set
 * against {@link RegressionBaselines}.
 */
public record QuantizedRegressionTask(LinearRegressionTask regression, int bins, double range) implements Task {

    public QuantizedRegressionTask {
        Sampling.require(bins >= 2, "regression", "bins must be >= 2");
        Sampling.require(range > 0, "regression", "range must be > 0");
    }

    public int bin(double v) {
        int b = (int) Math.floor((v + range) / (2 * range) * bins);
        return Math.max(0, Math.min(bins - 1, b));
    }

    public double binCenter(int bin) {
        return -range + (bin + 0.5) * (2 * range / bins);
    }

    @Override public String name() { return "regression"; }
    @Override public int vocabSize() { return bins; }
    @Override public int sequenceLength() { return regression.points() * (regression.dim() + 1); }

    @Override
    public Example sample(RandomGenerator rnd) {
        return tokenize(regression.sample(rnd));
    }

    /** The token form of a continuous sample. */
    public Example tokenize(LinearRegressionTask.Sample s) {
        int d = regression.dim();
        int[] tokens = new int[sequenceLength()];
        boolean[] scored = new boolean[tokens.length];
        int p = 0;
        for (int i = 0; i < s.points(); i++) {
            for (int j = 0; j < d; j++) tokens[p++] = bin(s.x()[i][j]);
            scored[p - 1] = true;
            tokens[p++] = bin(s.y()[i]);
        }
        return Example.scoring(tokens, scored);
    }
}
