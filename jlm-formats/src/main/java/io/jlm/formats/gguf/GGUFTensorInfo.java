package io.jlm.formats.gguf;

import io.jlm.core.tensor.GGMLType;

import java.util.Arrays;

/**
 * A tensor entry: {@code shape[0]} is ne0 (the contiguous dimension); {@code offset} is relative to the start
 * of the data section.
 */
public record GGUFTensorInfo(String name, long[] shape, GGMLType type, long offset) {

    public long elements() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() { return type.byteSize(elements()); }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape) + " @" + offset;
    }
}
