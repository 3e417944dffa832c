package io.jlm.train;

import java.util.Arrays;

/**
 * A float32 tensor for training: a flat row-major {@code float[]} with a shape and, when it takes part in
 * gradients, a gradient array of the same size. Views made by {@link #reshape} share both arrays.
 */
public final class Tensor {
    public final String name;
    public final int[] shape;
    public final float[] data;
    public final float[] grad;

    public Tensor(String name, float[] data, float[] grad, int... shape) {
        int n = 1;
        for (int d : shape) {
            if (d <= 0) throw new IllegalArgumentException("tensor " + name + ": bad shape " + Arrays.toString(shape));
            n *= d;
        }
        if (data.length != n) throw new IllegalArgumentException("tensor " + name + ": data length " + data.length
                + " != product of shape " + Arrays.toString(shape) + " = " + n);
        if (grad != null && grad.length != n) throw new IllegalArgumentException("tensor " + name + ": grad length");
        this.name = name; this.shape = shape.clone(); this.data = data; this.grad = grad;
    }

    /** A zero tensor with a gradient buffer. */
    public static Tensor zeros(String name, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return new Tensor(name, new float[n], new float[n], shape);
    }

    public int size() { return data.length; }
    public int rank() { return shape.length; }
    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
    /** Product of all dimensions but the last. */
    public int rows() { return data.length / shape[shape.length - 1]; }
    public int cols() { return shape[shape.length - 1]; }

    /** A view with another shape of the same size, sharing data and gradient. */
    public Tensor reshape(int... newShape) { return new Tensor(name, data, grad, newShape); }

    public void zeroGrad() { if (grad != null) Arrays.fill(grad, 0f); }

    @Override public String toString() { return name + Arrays.toString(shape); }
}
