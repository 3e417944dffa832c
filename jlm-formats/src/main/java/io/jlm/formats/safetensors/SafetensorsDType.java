package io.jlm.formats.safetensors;

import io.jlm.core.tensor.GGMLType;

/** Element types of safetensors files, with their byte sizes and (where one exists) the matching GGML type. */
public enum SafetensorsDType {
    BOOL(1, null), U8(1, null), I8(1, GGMLType.I8), F8_E5M2(1, null), F8_E4M3(1, null),
    I16(2, GGMLType.I16), U16(2, null), F16(2, GGMLType.F16), BF16(2, GGMLType.BF16),
    I32(4, GGMLType.I32), U32(4, null), F32(4, GGMLType.F32),
    I64(8, GGMLType.I64), U64(8, null), F64(8, GGMLType.F64);

    private final int size;
    private final GGMLType ggml;

    SafetensorsDType(int size, GGMLType ggml) {
        this.size = size;
        this.ggml = ggml;
    }

    /** Bytes per element. */
    public int size() { return size; }

    /** The GGML type with the same element encoding, or {@code null} if GGML has none. */
    public GGMLType ggmlType() { return ggml; }

    /** The dtype with this name as written in safetensors headers ("F32", "BF16", ...), or {@code null}. */
    public static SafetensorsDType fromName(String name) {
        for (SafetensorsDType t : values()) if (t.name().equals(name)) return t;
        return null;
    }
}
