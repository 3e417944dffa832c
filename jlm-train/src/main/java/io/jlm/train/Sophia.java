package io.jlm.train;

import java.util.List;

/**
 * Sophia-G (Liu et al. 2023, "Sophia: A Scalable Stochastic Second-order Optimizer"): momentum {@code m} of the
 * gradient, an EMA {@code h} (kept in {@code v}) of a diagonal Gauss-Newton-Bartlett Hessian estimate refreshed
 * every {@code k} steps from gradients of the loss against labels sampled from the model's own softmax, and the
 * clipped preconditioned update {@code w -= lr * sign(m) * min(|m| / (rho * tokens * h + 1e-15), 1)}, with
 * decoupled weight decay on the 2-D parameters.
 */
public final class Sophia extends Optimizer {
    public final double beta1, beta2, rho, weightDecay;
    public final int k, tokensPerBatch;

    public Sophia(List<Model.Param> params, double beta1, double beta2, double rho, double weightDecay, int k,
                  int tokensPerBatch) {
        super(params);
        this.beta1 = beta1; this.beta2 = beta2; this.rho = rho; this.weightDecay = weightDecay; this.k = k;
        this.tokensPerBatch = tokensPerBatch;
    }

    /** Whether the Hessian estimate is refreshed after step {@code it} (0-based). */
    public boolean hessianDue(int it) { return it % k == k - 1; }

    /** {@code h = beta2 h + (1 - beta2) g^2} from the current gradients (computed against sampled labels). */
    public void updateHessian() {
        float b2 = (float) beta2;
        for (int i = 0; i < params.size(); i++) {
            float[] g = params.get(i).tensor().grad, h = v[i];
            for (int j = 0; j < h.length; j++) h[j] = b2 * h[j] + (1 - b2) * g[j] * g[j];
        }
    }

    @Override public void step(double lr) {
        t++;
        float b1 = (float) beta1, scale = (float) (rho * tokensPerBatch), step = (float) lr;
        for (int i = 0; i < params.size(); i++) {
            Model.Param p = params.get(i);
            float[] w = p.tensor().data, g = p.tensor().grad, mi = m[i], h = v[i];
            float decay = p.decay() ? (float) (1 - lr * weightDecay) : 1f;
            for (int j = 0; j < w.length; j++) {
                mi[j] = b1 * mi[j] + (1 - b1) * g[j];
                float ratio = Math.min(Math.abs(mi[j]) / (scale * h[j] + 1e-15f), 1f);
                w[j] = w[j] * decay - step * Math.signum(mi[j]) * ratio;
            }
        }
    }
}
