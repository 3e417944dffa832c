package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * In-context linear regression (Garg et al.): a weight vector {@code w ~ N(0, I_dim)}, inputs
 * {@code x_i ~ N(0, I_dim)} and outputs {@code y_i = w.x_i + noise * N(0, 1)} for {@code i < points}. A learner
 * predicts {@code y_i} from {@code x_i} and the earlier pairs; {@link RegressionBaselines} gives the classical
 * learners' predictions (least squares, ridge, gradient descent) to compare with. For token models see
 * {@link QuantizedRegressionTask}.
 */
public record LinearRegressionTask(int dim, int points, double noise) {

    public LinearRegressionTask {
        Sampling.require(dim >= 1 && points >= 1, "regression", "dim and points must be >= 1");
        Sampling.require(noise >= 0, "regression", "noise must be >= 0");
    }

    /** One regression problem: inputs {@code x[i]} (length dim), outputs {@code y[i]}, and the true weights. */
    public record Sample(double[][] x, double[] y, double[] w) {
        public int points() { return y.length; }
        public int dim() { return w.length; }
    }

    public Sample sample(RandomGenerator rnd) {
        double[] w = new double[dim];
        for (int j = 0; j < dim; j++) w[j] = rnd.nextGaussian();
        double[][] x = new double[points][dim];
        double[] y = new double[points];
        for (int i = 0; i < points; i++) {
            double s = 0;
            for (int j = 0; j < dim; j++) {
                x[i][j] = rnd.nextGaussian();
                s += w[j] * x[i][j];
            }
            y[i] = s + noise * rnd.nextGaussian();
        }
        return new Sample(x, y, w);
    }

    /**
     * The expected squared error of the minimum-norm least-squares prediction of a new point from {@code n} points
     * under this task's distribution: {@code (dim - n) + noise^2 (1 + n / (dim - n - 1))} for {@code n <= dim - 2}
     * (the unseen directions of w, plus the interpolated noise), {@code noise^2 (1 + dim / (n - dim - 1))} for
     * {@code n >= dim + 2} (inverse-Wishart means), infinite in between; without noise {@code dim - n} for
     * {@code n < dim} and 0 from {@code n = dim} on.
     */
    public double expectedLeastSquaresError(int n) {
        double s2 = noise * noise;
        if (n < dim) {
            if (s2 == 0) return dim - n;
            return n <= dim - 2 ? (dim - n) + s2 * (1 + (double) n / (dim - n - 1)) : Double.POSITIVE_INFINITY;
        }
        if (s2 == 0) return 0;
        return n >= dim + 2 ? s2 * (1 + (double) dim / (n - dim - 1)) : Double.POSITIVE_INFINITY;
    }
}
