package io.jlm.tasks;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class RegressionBaselinesTest {

    @Test
    void leastSquaresOnHandCase() {
        // X^T X = [[2,1],[1,2]], X^T y = [5,6] -> w = 1/3 [[2,-1],[-1,2]] [5,6] = [4/3, 7/3]
        double[][] x = {{1, 0}, {0, 1}, {1, 1}};
        double[] y = {1, 2, 4};
        assertArrayEquals(new double[]{4.0 / 3, 7.0 / 3}, RegressionBaselines.leastSquares(x, y, 3), 1e-12);
        // two points in 2-D: exact interpolation
        assertArrayEquals(new double[]{1, 2}, RegressionBaselines.leastSquares(x, y, 2), 1e-12);
        // under-determined: the minimum-norm solution x * y / |x|^2
        double[][] x1 = {{1, 2, 2}};
        assertArrayEquals(new double[]{1, 2, 2}, RegressionBaselines.leastSquares(x1, new double[]{9}, 1), 1e-12);
        assertArrayEquals(new double[]{0, 0}, RegressionBaselines.leastSquares(x, y, 0));
        // rank-deficient with n > dim: two equal columns -> the minimum-norm solution splits the weight evenly
        double[][] xr = {{1, 1}, {2, 2}, {-1, -1}};
        double[] yr = {2, 4, -2};
        assertArrayEquals(new double[]{1, 1}, RegressionBaselines.leastSquares(xr, yr, 3), 1e-9);
        // under-determined, two points in 3-D: X^T (X X^T)^-1 y computed by hand
        // X = [[1,0,1],[0,1,1]], X X^T = [[2,1],[1,2]], y = [3,0] -> a = 1/3 [[2,-1],[-1,2]] y = [2,-1], w = [2,-1,1]
        double[][] xu = {{1, 0, 1}, {0, 1, 1}};
        assertArrayEquals(new double[]{2, -1, 1}, RegressionBaselines.leastSquares(xu, new double[]{3, 0}, 2), 1e-9);
    }

    @Test
    void ridgeOnHandCase() {
        // (X^T X + I) = [[3,1],[1,3]], inverse 1/8 [[3,-1],[-1,3]] -> w = 1/8 [3*5-6, -5+3*6] = [9/8, 13/8]
        double[][] x = {{1, 0}, {0, 1}, {1, 1}};
        double[] y = {1, 2, 4};
        assertArrayEquals(new double[]{9.0 / 8, 13.0 / 8}, RegressionBaselines.ridge(x, y, 3, 1.0), 1e-12);
        // 1-D: sum xy / (sum x^2 + lambda)
        double[][] x1 = {{2}, {-1}, {3}};
        double[] y1 = {1, 5, 2};
        assertEquals((2 - 5 + 6) / (14 + 0.5), RegressionBaselines.ridge(x1, y1, 3, 0.5)[0], 1e-12);
    }

    @Test
    void gradientDescentMatchesClosedForm() {
        // w_k = sum_{j<k} (I - lr A)^j lr b with A = X^T X / n, b = X^T y / n
        double[][] x = {{1, 0.5}, {-0.3, 1}, {2, 1}};
        double[] y = {1, -2, 0.5};
        int n = 3;
        double lr = 0.2;
        double[][] a = new double[2][2];
        double[] b = new double[2];
        for (int i = 0; i < n; i++) for (int j = 0; j < 2; j++) {
            b[j] += x[i][j] * y[i] / n;
            for (int k = 0; k < 2; k++) a[j][k] += x[i][j] * x[i][k] / n;
        }
        double[][] m = {{1 - lr * a[0][0], -lr * a[0][1]}, {-lr * a[1][0], 1 - lr * a[1][1]}};
        double[][] pow = {{1, 0}, {0, 1}};
        double[] w = new double[2];
        for (int k = 1; k <= 6; k++) {
            w[0] += lr * (pow[0][0] * b[0] + pow[0][1] * b[1]);
            w[1] += lr * (pow[1][0] * b[0] + pow[1][1] * b[1]);
            pow = new double[][]{{pow[0][0] * m[0][0] + pow[0][1] * m[1][0], pow[0][0] * m[0][1] + pow[0][1] * m[1][1]},
                    {pow[1][0] * m[0][0] + pow[1][1] * m[1][0], pow[1][0] * m[0][1] + pow[1][1] * m[1][1]}};
            assertArrayEquals(w, RegressionBaselines.gradientDescent(x, y, n, k, lr), 1e-12, "steps " + k);
        }
        // many steps converge to least squares
        assertArrayEquals(RegressionBaselines.leastSquares(x, y, n), RegressionBaselines.gradientDescent(x, y, n, 5000, 0.3), 1e-9);
    }

    @Test
    void leastSquaresErrorCurveMatchesTheory() {
        LinearRegressionTask clean = new LinearRegressionTask(6, 10, 0);
        double[] err = RegressionBaselines.errorCurve(clean, RegressionBaselines.leastSquares(), 4000, new Random(1));
        for (int n = 0; n < 10; n++) {
            double expect = clean.expectedLeastSquaresError(n);
            if (expect == 0) assertEquals(0, err[n], 1e-12, "n = " + n);
            else assertEquals(expect, err[n], 0.08 * expect, "n = " + n);
        }
        LinearRegressionTask noisy = new LinearRegressionTask(4, 20, 0.5);
        double[] e2 = RegressionBaselines.errorCurve(noisy, RegressionBaselines.leastSquares(), 6000, new Random(2));
        for (int n : new int[]{0, 1, 2, 10, 14, 19}) {
            assertEquals(noisy.expectedLeastSquaresError(n), e2[n], 0.08 * noisy.expectedLeastSquaresError(n), "n = " + n);
        }
        // ridge with lambda = noise^2 is the Bayes posterior mean: never worse on average, much better near n = dim
        double[] r = RegressionBaselines.errorCurve(noisy, RegressionBaselines.ridge(0.25), 6000, new Random(2));
        for (int n = 0; n < 20; n++) assertTrue(r[n] <= e2[n] * 1.01, "n = " + n + ": ridge " + r[n] + " ols " + e2[n]);
        assertTrue(r[4] < 0.5 * e2[4]);
        // one gradient step is much worse than least squares with plenty of data
        double[] g = RegressionBaselines.errorCurve(noisy, RegressionBaselines.gradientDescent(1, 0.5), 2000, new Random(3));
        assertTrue(g[19] > 2 * e2[19]);
    }
}
