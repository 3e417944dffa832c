package io.jlm.models;

import io.jlm.core.tensor.GGMLType;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.formats.gguf.GGUFTensorInfo;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;

/**
 * Where a model's metadata and weights come from: a GGUF file, or (in tests and converters) tensors in memory.
 * {@link #name()} is used in error messages (usually the file name).
 */
public interface WeightSource {

    /** One tensor: GGUF shape convention ({@code shape[0]} is the contiguous dimension). */
    record Tensor(String name, GGMLType type, long[] shape, MemorySegment data) {
        @Override
        public String toString() {
            return name + " " + type + " " + Arrays.toString(shape);
        }
    }

    String name();

    GGUFMetadata metadata();

    /** The tensor called {@code name}, or {@code null} if absent. */
    Tensor tensor(String name);

    static WeightSource of(GGUFFile file) {
        String fileName = String.valueOf(file.path().getFileName());
        return new WeightSource() {
            @Override public String name() { return fileName; }
            @Override public GGUFMetadata metadata() { return file.metadata(); }
            @Override public Tensor tensor(String name) {
                GGUFTensorInfo info = file.tensor(name);
                return info == null ? null : new Tensor(name, info.type(), info.shape(), file.tensorData(info));
            }
        };
    }

    /** Tensors held in a map (e.g. built in memory by a test). */
    static WeightSource of(String name, GGUFMetadata metadata, Map<String, Tensor> tensors) {
        return new WeightSource() {
            @Override public String name() { return name; }
            @Override public GGUFMetadata metadata() { return metadata; }
            @Override public Tensor tensor(String n) { return tensors.get(n); }
        };
    }
}
