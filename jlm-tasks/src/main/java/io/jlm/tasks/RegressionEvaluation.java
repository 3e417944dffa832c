package io.jlm.tasks;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A model's in-context regression error next to the classical learners': for {@code samples} problems of a
 * {@link QuantizedRegressionTask}, the model reads the token sequence (teacher forcing) and its argmax token at each
 * {@code y} position (among the bin tokens {@code [0, bins)}) is mapped back to a value ({@link QuantizedRegressionTask#binCenter}); its squared error against
 * the true {@code y_n} is averaged per prefix length {@code n}, as are those of the baselines on the same problems.
 * The baselines see the exact (unquantized) values, except {@code least-squares (quantized)}, which fits and predicts
 * on the bin centres the model sees.
 */
public final class RegressionEvaluation {
    private RegressionEvaluation() {}

    /** Mean squared error per prefix length ({@code [n]} = predicting point n from points 0..n-1), per learner. */
    public record Curves(int samples, Map<String, double[]> errors) {
        /** The mean over all prefix lengths of one learner's curve. */
        public double mean(String learner) {
            double[] e = errors.get(learner);
            double s = 0;
            for (double v : e) s += v;
            return s / e.length;
        }
    }

    public static final String MODEL = "model";

    private static String fmt(double v) {
        String s = String.format(java.util.Locale.ROOT, "%.4g", v);
        return s.contains(".") && !s.contains("e") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    /**
     * @param ridgeLambda the ridge baseline's lambda (e.g. noise^2, the Bayes-optimal choice; small positive if noiseless)
     * @param gdSteps     the gradient-descent baseline's steps
     * @param gdLr        its learning rate
     */
    public static Curves evaluate(LanguageModel model, QuantizedRegressionTask task, int samples, long seed,
                                  double ridgeLambda, int gdSteps, double gdLr) {
        LinearRegressionTask reg = task.regression();
        int points = reg.points(), d = reg.dim();
        Map<String, RegressionBaselines.Learner> learners = new LinkedHashMap<>();
        learners.put("least-squares", RegressionBaselines.leastSquares());
        learners.put("ridge(" + fmt(ridgeLambda) + ")", RegressionBaselines.ridge(ridgeLambda));
        learners.put("gd(" + gdSteps + " steps, lr " + fmt(gdLr) + ")", RegressionBaselines.gradientDescent(gdSteps, gdLr));
        Map<String, double[]> err = new LinkedHashMap<>();
        if (model != null) err.put(MODEL, new double[points]);
        for (String k : learners.keySet()) err.put(k, new double[points]);
        err.put("least-squares (quantized)", new double[points]);
        if (model != null && task.vocabSize() > model.config().vocabSize()) {
            throw new IllegalArgumentException("regression: the task uses " + task.vocabSize() + " tokens but the model has only "
                    + model.config().vocabSize());
        }
        Random rnd = new Random(seed);
        ModelState state = null;
        for (int s = 0; s < samples; s++) {
            LinearRegressionTask.Sample ex = reg.sample(rnd);
            if (model != null) {
                Example e = task.tokenize(ex);
                int[] targets = e.targets();
                double[] me = err.get(MODEL);
                state = LogitRows.fresh(model, state, e.length());
                LogitRows.run(model, state, e.tokens(), 0, e.length(), 0, (p, row, off, v) -> {
                    if (targets[p] < 0) return;
                    int n = (p + 1) / (d + 1); // the y after position p belongs to point n
                    double pred = task.binCenter(LogitRows.argmax(row, off, task.bins())); // the most likely bin token
                    double diff = pred - ex.y()[n];
                    me[n] += diff * diff;
                });
            }
            for (Map.Entry<String, RegressionBaselines.Learner> l : learners.entrySet()) {
                double[] le = err.get(l.getKey());
                for (int n = 0; n < points; n++) {
                    double diff = RegressionBaselines.dot(l.getValue().fit(ex.x(), ex.y(), n), ex.x()[n]) - ex.y()[n];
                    le[n] += diff * diff;
                }
            }
            double[][] xq = new double[points][d];
            double[] yq = new double[points];
            for (int i = 0; i < points; i++) {
                for (int j = 0; j < d; j++) xq[i][j] = task.binCenter(task.bin(ex.x()[i][j]));
                yq[i] = task.binCenter(task.bin(ex.y()[i]));
            }
            double[] qe = err.get("least-squares (quantized)");
            for (int n = 0; n < points; n++) {
                double diff = RegressionBaselines.dot(RegressionBaselines.leastSquares(xq, yq, n), xq[n]) - ex.y()[n];
                qe[n] += diff * diff;
            }
        }
        for (double[] e : err.values()) for (int n = 0; n < e.length; n++) e[n] /= samples;
        return new Curves(samples, err);
    }
}
