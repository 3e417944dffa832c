package io.jlm.core.quant;

import io.jlm.core.tensor.GGMLType;

/** Looks up the kernel of a weight type. */
public final class Kernels {
    private Kernels() {}

    /** The kernel for {@code type}; throws with a clear message for types jlm cannot compute with. */
    public static WeightKernel of(GGMLType type) {
        return switch (type) {
            case F32 -> F32Kernel.INSTANCE;
            case F16 -> F16Kernel.INSTANCE;
            case BF16 -> BF16Kernel.INSTANCE;
            case Q8_0 -> Q8_0Kernel.INSTANCE;
            case Q4_0 -> Q4_0Kernel.INSTANCE;
            case Q4_1 -> Q4_1Kernel.INSTANCE;
            case Q5_0 -> Q5_0Kernel.INSTANCE;
            case Q5_1 -> Q5_1Kernel.INSTANCE;
            case Q2_K -> Q2_KKernel.INSTANCE;
            case Q3_K -> Q3_KKernel.INSTANCE;
            case Q4_K -> Q4_KKernel.INSTANCE;
            case Q5_K -> Q5_KKernel.INSTANCE;
            case Q6_K -> Q6_KKernel.INSTANCE;
            default -> throw new UnsupportedOperationException("weight type " + type
                    + " is not supported; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K");
        };
    }

    public static boolean isSupported(GGMLType type) {
        try {
            of(type);
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }
}
