package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * Classical in-context regression learners, computed exactly in double precision from the first {@code n} points of a
 * {@link LinearRegressionTask.Sample}: minimum-norm least squares (OLS), ridge regression and {@code k} steps of
 * full-batch gradient descent on the mean squared error from {@code w = 0}.
 */
public final class RegressionBaselines {
    private RegressionBaselines() {}

    /** A learner: weights from the first {@code n} points. */
    @FunctionalInterface
    public interface Learner {
        double[] fit(double[][] x, double[] y, int n);
    }

    /**
     * Minimum-norm least squares on the first n points: {@code pinv(X^T X) X^T y}, which is {@code (X^T X)^-1 X^T y}
     * when X has full column rank and the least-norm interpolating solution {@code X^T (X X^T)^-1 y} when
     * {@code n < dim}; rank-deficient data (e.g. quantized inputs with repeated values) are handled by the
     * pseudo-inverse (eigenvalues below {@code 1e-12} of the largest are treated as zero). Zero for {@code n = 0}.
     */
    public static double[] leastSquares(double[][] x, double[] y, int n) {
        int d = x[0].length;
        if (n == 0) return new double[d];
        double[][] a = new double[d][d];
        double[] b = new double[d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                b[j] += x[i][j] * y[i];
                for (int k = 0; k < d; k++) a[j][k] += x[i][j] * x[i][k];
            }
        }
        double[][] v = new double[d][d];
        double[] ev = symmetricEigen(a, v);
        double max = 0;
        for (double e : ev) max = Math.max(max, Math.abs(e));
        double tol = max * 1e-12 * d;
        double[] w = new double[d];
        for (int k = 0; k < d; k++) {
            if (Math.abs(ev[k]) <= tol) continue;
            double c = 0;
            for (int j = 0; j < d; j++) c += v[j][k] * b[j];
            c /= ev[k];
            for (int j = 0; j < d; j++) w[j] += c * v[j][k];
        }
        return w;
    }

    /**
     * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: returns the eigenvalues, fills the columns
     * of {@code vectors} with the eigenvectors ({@code a} is overwritten).
     */
    static double[] symmetricEigen(double[][] a, double[][] vectors) {
        int d = a.length;
        for (int i = 0; i < d; i++) { java.util.Arrays.fill(vectors[i], 0); vectors[i][i] = 1; }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0, diag = 0;
            for (int i = 0; i < d; i++) {
                diag += a[i][i] * a[i][i];
                for (int j = i + 1; j < d; j++) off += a[i][j] * a[i][j];
            }
            if (off <= 1e-30 * diag || off == 0) break;
            for (int p = 0; p < d; p++) {
                for (int q = p + 1; q < d; q++) {
                    if (a[p][q] == 0) continue;
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < d; k++) { // A <- A J
                        double akp = a[k][p], akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < d; k++) { // A <- J^T A
                        double apk = a[p][k], aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < d; k++) {
                        double vkp = vectors[k][p], vkq = vectors[k][q];
                        vectors[k][p] = c * vkp - s * vkq;
                        vectors[k][q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        double[] ev = new double[d];
        for (int i = 0; i < d; i++) ev[i] = a[i][i];
        return ev;
    }

    /** Ridge regression {@code (X^T X + lambda I)^-1 X^T y} on the first n points ({@code lambda >= 0}). */
    public static double[] ridge(double[][] x, double[] y, int n, double lambda) {
        int d = x[0].length;
        if (n == 0) return new double[d];
        double[][] a = new double[d][d];
        double[] b = new double[d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                b[j] += x[i][j] * y[i];
                for (int k = 0; k < d; k++) a[j][k] += x[i][j] * x[i][k];
            }
        }
        for (int j = 0; j < d; j++) a[j][j] += lambda;
        return solve(a, b);
    }

    /**
     * {@code steps} steps of gradient descent on {@code L(w) = 1/(2n) sum (w.x_i - y_i)^2} from {@code w = 0} with
     * learning rate {@code lr}: {@code w <- w - lr/n * X^T (X w - y)}.
     */
    public static double[] gradientDescent(double[][] x, double[] y, int n, int steps, double lr) {
        int d = x[0].length;
        double[] w = new double[d];
        if (n == 0) return w;
        double[] g = new double[d];
        for (int s = 0; s < steps; s++) {
            java.util.Arrays.fill(g, 0);
            for (int i = 0; i < n; i++) {
                double r = dot(w, x[i]) - y[i];
                for (int j = 0; j < d; j++) g[j] += r * x[i][j];
            }
            for (int j = 0; j < d; j++) w[j] -= lr / n * g[j];
        }
        return w;
    }

    public static Learner leastSquares() { return RegressionBaselines::leastSquares; }
    public static Learner ridge(double lambda) { return (x, y, n) -> ridge(x, y, n, lambda); }
    public static Learner gradientDescent(int steps, double lr) { return (x, y, n) -> gradientDescent(x, y, n, steps, lr); }

    /**
     * Mean squared error of predicting {@code y_n} from {@code x_n} and the first {@code n} points, for every
     * {@code n in [0, points)}, averaged over {@code samples} problems drawn from {@code task}.
     */
    public static double[] errorCurve(LinearRegressionTask task, Learner learner, int samples, RandomGenerator rnd) {
        double[] err = new double[task.points()];
        for (int s = 0; s < samples; s++) {
            LinearRegressionTask.Sample ex = task.sample(rnd);
            for (int n = 0; n < task.points(); n++) {
                double[] w = learner.fit(ex.x(), ex.y(), n);
                double e = dot(w, ex.x()[n]) - ex.y()[n];
                err[n] += e * e;
            }
        }
        for (int n = 0; n < err.length; n++) err[n] /= samples;
        return err;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Solves {@code a x = b} by Gaussian elimination with partial pivoting (a and b are overwritten). */
    static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
            if (Math.abs(a[p][c]) < 1e-300) throw new ArithmeticException("singular system in regression baseline (column " + c + ")");
            double[] t = a[c]; a[c] = a[p]; a[p] = t;
            double tb = b[c]; b[c] = b[p]; b[p] = tb;
            for (int r = c + 1; r < n; r++) {
                double f = a[r][c] / a[c][c];
                if (f == 0) continue;
                for (int k = c; k < n; k++) a[r][k] -= f * a[c][k];
                b[r] -= f * b[c];
            }
        }
        double[] x = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double s = b[r];
            for (int k = r + 1; k < n; k++) s -= a[r][k] * x[k];
            x[r] = s / a[r][r];
        }
        return x;
    }
}
