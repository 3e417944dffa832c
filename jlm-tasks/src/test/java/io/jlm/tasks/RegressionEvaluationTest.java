package io.jlm.tasks;

import io.jlm.models.LanguageModel;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class RegressionEvaluationTest {

    @Test
    void modelAndBaselineCurvesOnTheSameProblems() {
        LinearRegressionTask reg = new LinearRegressionTask(3, 8, 0.2);
        QuantizedRegressionTask task = new QuantizedRegressionTask(reg, 16, 4);
        int constant = 9; // a model that always predicts bin 9
        LanguageModel m = FakeModels.model(task.vocabSize(), (seen, n, out) -> out[constant] = 1);
        RegressionEvaluation.Curves c = RegressionEvaluation.evaluate(m, task, 50, 7, 0.04, 3, 0.1);

        double[] expectModel = new double[8];
        Random rnd = new Random(7);
        for (int s = 0; s < 50; s++) {
            LinearRegressionTask.Sample ex = reg.sample(rnd);
            for (int n = 0; n < 8; n++) {
                double d = task.binCenter(constant) - ex.y()[n];
                expectModel[n] += d * d / 50;
            }
        }
        assertArrayEquals(expectModel, c.errors().get(RegressionEvaluation.MODEL), 1e-12);
        assertArrayEquals(RegressionBaselines.errorCurve(reg, RegressionBaselines.leastSquares(), 50, new Random(7)),
                c.errors().get("least-squares"), 1e-12);
        assertArrayEquals(RegressionBaselines.errorCurve(reg, RegressionBaselines.ridge(0.04), 50, new Random(7)),
                c.errors().get("ridge(0.04)"), 1e-12);
        assertArrayEquals(RegressionBaselines.errorCurve(reg, RegressionBaselines.gradientDescent(3, 0.1), 50, new Random(7)),
                c.errors().get("gd(3 steps, lr 0.1)"), 1e-12);
        assertEquals(5, c.errors().size());
        // quantization costs least squares something but it still learns: late error well below the prior's (dim = 3)
        double[] q = c.errors().get("least-squares (quantized)");
        assertTrue(q[7] < 1.0 && q[7] > c.errors().get("least-squares")[7] * 0.5, "quantized " + q[7]);
    }
}
