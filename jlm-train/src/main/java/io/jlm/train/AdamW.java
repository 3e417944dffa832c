package io.jlm.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.List;

/** AdamW (decoupled weight decay, as torch.optim.AdamW) over a model's parameters, with global-norm gradient clipping. */
public final class AdamW extends Optimizer {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    public final double beta1, beta2, eps, weightDecay;

    public AdamW(List<Model.Param> params, double beta1, double beta2, double eps, double weightDecay) {
        super(params);
        this.beta1 = beta1; this.beta2 = beta2; this.eps = eps; this.weightDecay = weightDecay;
    }

    /** Scales all gradients so that their global L2 norm is at most {@code maxNorm}; returns the norm before clipping. */
    public static double clipGradNorm(List<Model.Param> params, double maxNorm) {
        double sq = 0;
        for (Model.Param p : params) for (float g : p.tensor().grad) sq += (double) g * g;
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            float s = (float) (maxNorm / (norm + 1e-6));
            for (Model.Param p : params) { float[] g = p.tensor().grad; for (int i = 0; i < g.length; i++) g[i] *= s; }
        }
        return norm;
    }

    @Override public void step(double lr) {
        t++;
        double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
        float b1 = (float) beta1, b2 = (float) beta2;
        float stepSize = (float) (lr / bc1), invBc2Sqrt = (float) (1 / Math.sqrt(bc2)), e = (float) eps;
        for (int i = 0; i < params.size(); i++) {
            Model.Param p = params.get(i);
            float[] w = p.tensor().data, g = p.tensor().grad, mi = m[i], vi = v[i];
            float decay = p.decay() ? (float) (1 - lr * weightDecay) : 1f;
            int j = 0;
            for (; j + L <= w.length; j += L) {   // the scalar loop's operations, lane by lane: the same bits
                FloatVector gv = FloatVector.fromArray(S, g, j);
                FloatVector mv = FloatVector.fromArray(S, mi, j).mul(b1).add(gv.mul(1 - b1));
                FloatVector vv = FloatVector.fromArray(S, vi, j).mul(b2).add(gv.mul(1 - b2).mul(gv));
                mv.intoArray(mi, j);
                vv.intoArray(vi, j);
                FloatVector.fromArray(S, w, j).mul(decay).sub(mv.mul(stepSize).div(vv.sqrt().mul(invBc2Sqrt).add(e))).intoArray(w, j);
            }
            for (; j < w.length; j++) {
                float gj = g[j];
                mi[j] = b1 * mi[j] + (1 - b1) * gj;
                vi[j] = b2 * vi[j] + (1 - b2) * gj * gj;
                w[j] = w[j] * decay - stepSize * mi[j] / ((float) Math.sqrt(vi[j]) * invBc2Sqrt + e);
            }
        }
    }
}
