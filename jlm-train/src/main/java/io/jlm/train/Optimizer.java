package io.jlm.train;

import java.util.List;

/** A first-order optimizer with two per-parameter state arrays ({@code m}, {@code v}) and a step count, all checkpointed. */
public abstract class Optimizer {
    final List<Model.Param> params;
    final float[][] m, v;
    int t;

    Optimizer(List<Model.Param> params) {
        this.params = params;
        m = new float[params.size()][]; v = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            m[i] = new float[params.get(i).tensor().size()];
            v[i] = new float[params.get(i).tensor().size()];
        }
    }

    /** Applies the current gradients with learning rate {@code lr}. */
    public abstract void step(double lr);

    public int steps() { return t; }
}
