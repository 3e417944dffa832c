package io.jlm.formats.gguf;

import io.jlm.core.tensor.GGMLType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes GGUF v3 files in llama.cpp's layout: header, metadata key/values (in insertion order), tensor infos,
 * zero padding to the alignment, then the tensor data, each tensor padded with zeros to the alignment.
 * The alignment is {@code general.alignment} (which must then be a UINT32 power of two) or 32.
 *
 * <p>Tensor data is streamed: each tensor is given as a {@link TensorFiller} that is called once, during
 * {@link #write}, with a writable memory-mapped slice of exactly the tensor's bytes in the output file, so models
 * larger than the heap can be written. The file is written to a temporary file in the target's directory and
 * renamed over the target only when complete, so a failure never leaves a partial model under the target name.
 *
 * <p>A writer collects the description first ({@link #put}, {@link #addTensor}) and writes it with
 * {@link #write}; it can be written more than once if its fillers allow that.
 */
public final class GGUFWriter {

    /** Produces one tensor's bytes. */
    @FunctionalInterface
    public interface TensorFiller {
        /**
         * Fills {@code dst}, a writable slice of the output mapping of exactly the tensor's byte size
         * ({@code type.byteSize(elements)}), initially zero. The slice may be written from other threads (e.g. a
         * thread pool) until {@code fill} returns; it is unmapped afterwards.
         */
        void fill(MemorySegment dst) throws IOException;
    }

    /** A tensor to be written: {@code shape[0]} is ne0, the contiguous dimension. */
    public record PendingTensor(String name, GGMLType type, long[] shape, long byteSize, TensorFiller filler) {}

    /** llama.cpp limit: tensor names must be shorter than GGML_MAX_NAME (64) bytes. */
    public static final int MAX_NAME_BYTES = 63;
    public static final String ALIGNMENT_KEY = "general.alignment";
    private static final int MAX_NESTING = 8;

    private final LinkedHashMap<String, GGUFValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Map<String, PendingTensor> tensorsByName = new HashMap<>();

    public GGUFWriter() {}

    /**
     * A writer that copies {@code src}: all metadata (in order) and all tensors (in order, bytes copied from the
     * source mapping when written). The source must stay open until {@link #write} returns.
     */
    public static GGUFWriter copyOf(GGUFFile src) {
        GGUFWriter w = new GGUFWriter();
        src.metadata().entries().forEach(w::put);
        for (GGUFTensorInfo t : src.tensors()) {
            w.addTensor(t.name(), t.type(), t.shape(), dst -> dst.copyFrom(src.tensorData(t)));
        }
        return w;
    }

    // ---------------------------------------------------------------- metadata

    /**
     * Sets a metadata entry. A new key is appended; an existing key keeps its position and gets the new value.
     * The value is validated now (type vs. Java value, integer ranges, array element types).
     */
    public GGUFWriter put(String key, GGUFValue value) {
        Objects.requireNonNull(key, "metadata key");
        Objects.requireNonNull(value, () -> "value of metadata '" + key + "'");
        if (key.isEmpty()) throw new IllegalArgumentException("metadata key must not be empty");
        validateValue(value, "metadata '" + key + "'", 0);
        if (key.equals(ALIGNMENT_KEY)) alignmentOf(value);
        metadata.put(key, value);
        return this;
    }

    public GGUFWriter putString(String key, String v) { return put(key, GGUFValue.of(v)); }
    public GGUFWriter putU32(String key, long v) { return put(key, GGUFValue.ofU32(v)); }
    public GGUFWriter putI32(String key, int v) { return put(key, GGUFValue.ofI32(v)); }
    public GGUFWriter putU64(String key, long v) { return put(key, GGUFValue.ofU64(v)); }
    public GGUFWriter putF32(String key, float v) { return put(key, GGUFValue.of(v)); }
    public GGUFWriter putBool(String key, boolean v) { return put(key, GGUFValue.of(v)); }
    public GGUFWriter putStrings(String key, String[] v) { return put(key, GGUFValue.of(v)); }
    public GGUFWriter putF32s(String key, float[] v) { return put(key, GGUFValue.of(v)); }
    public GGUFWriter putI32s(String key, int[] v) { return put(key, GGUFValue.ofI32(v)); }

    /** Removes a metadata entry; returns whether it existed. */
    public boolean remove(String key) { return metadata.remove(key) != null; }

    /** The metadata collected so far, in order (read-only view). */
    public Map<String, GGUFValue> metadata() { return Collections.unmodifiableMap(metadata); }

    /** The alignment that {@link #write} will use. */
    public int alignment() {
        GGUFValue v = metadata.get(ALIGNMENT_KEY);
        return v == null ? GGUFFile.DEFAULT_ALIGNMENT : alignmentOf(v);
    }

    private static int alignmentOf(GGUFValue v) {
        if (v.type() != GGUFValueType.UINT32) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " has type " + v.type() + "; expected UINT32 (llama.cpp requires it)");
        }
        long a = ((Number) v.value()).longValue();
        if (a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " = " + a + "; expected a power of two <= 2^20 (usually 32)");
        }
        return (int) a;
    }

    // ---------------------------------------------------------------- tensors

    /**
     * Adds a tensor whose bytes {@code filler} writes when the file is written.
     *
     * @param shape dimensions ne0 first (1..4 positive values; ne0 a multiple of the type's block size)
     */
    public GGUFWriter addTensor(String name, GGMLType type, long[] shape, TensorFiller filler) {
        long bytes = validateTensor(name, type, shape);
        Objects.requireNonNull(filler, () -> "data of tensor '" + name + "'");
        PendingTensor t = new PendingTensor(name, type, shape.clone(), bytes, filler);
        tensors.add(t);
        tensorsByName.put(name, t);
        return this;
    }

    /** Adds a tensor whose bytes are copied from {@code data} (which must be exactly the tensor's byte size). */
    public GGUFWriter addTensor(String name, GGMLType type, long[] shape, MemorySegment data) {
        Objects.requireNonNull(data, () -> "data of tensor '" + name + "'");
        checkSize(name, type, shape, validateTensor(name, type, shape), data.byteSize());
        return addTensor(name, type, shape, dst -> dst.copyFrom(data));
    }

    /** Adds a tensor whose bytes (little-endian, ggml block layout) are copied from {@code data}. */
    public GGUFWriter addTensor(String name, GGMLType type, long[] shape, byte[] data) {
        Objects.requireNonNull(data, () -> "data of tensor '" + name + "'");
        return addTensor(name, type, shape, MemorySegment.ofArray(data));
    }

    /** Adds an F32 tensor from floats. */
    public GGUFWriter addTensor(String name, long[] shape, float[] data) {
        Objects.requireNonNull(data, () -> "data of tensor '" + name + "'");
        checkSize(name, GGMLType.F32, shape, validateTensor(name, GGMLType.F32, shape), 4L * data.length);
        return addTensor(name, GGMLType.F32, shape, dst -> MemorySegment.copy(data, 0, dst, F32_LE, 0, data.length));
    }

    private static void checkSize(String name, GGMLType type, long[] shape, long needed, long given) {
        if (given != needed) {
            throw new IllegalArgumentException("tensor '" + name + "' (" + type + ", " + Arrays.toString(shape)
                    + ") needs " + needed + " bytes of data but " + given + " were given");
        }
    }

    /** Validates a tensor description and returns its byte size. */
    private long validateTensor(String name, GGMLType type, long[] shape) {
        Objects.requireNonNull(name, "tensor name");
        Objects.requireNonNull(type, () -> "type of tensor '" + name + "'");
        Objects.requireNonNull(shape, () -> "shape of tensor '" + name + "'");
        String what = "tensor '" + name + "'";
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes == 0 || nameBytes > MAX_NAME_BYTES) {
            throw new IllegalArgumentException(what + ": name has " + nameBytes + " UTF-8 bytes; expected 1.."
                    + MAX_NAME_BYTES + " (llama.cpp's GGML_MAX_NAME limit)");
        }
        if (tensorsByName.containsKey(name)) throw new IllegalArgumentException("duplicate " + what);
        if (shape.length < 1 || shape.length > GGUFFile.MAX_DIMS) {
            throw new IllegalArgumentException(what + " has " + shape.length + " dimensions; expected 1.." + GGUFFile.MAX_DIMS);
        }
        long elements = 1;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] <= 0) {
                throw new IllegalArgumentException(what + " has ne[" + d + "] = " + shape[d] + "; expected a positive dimension");
            }
            try {
                elements = Math.multiplyExact(elements, shape[d]);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(what + " has shape " + Arrays.toString(shape) + " whose element count overflows");
            }
        }
        if (shape[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException(what + " of type " + type + " has ne[0] = " + shape[0]
                    + "; expected a multiple of the block size " + type.blockSize());
        }
        try {
            return type.byteSize(elements);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + " with shape " + Arrays.toString(shape) + " is too large");
        }
    }

    /** The tensors added so far, in file order (read-only view). */
    public List<PendingTensor> tensors() { return Collections.unmodifiableList(tensors); }

    // ---------------------------------------------------------------- writing

    /** The encoded header: magic .. tensor infos, padded to the alignment (i.e. the data section's offset). */
    public byte[] header() {
        int alignment = alignment();
        Sink s = new Sink();
        s.i32(GGUFFile.MAGIC);
        s.i32(3);
        s.i64(tensors.size());
        s.i64(metadata.size());
        for (Map.Entry<String, GGUFValue> e : metadata.entrySet()) {
            s.string(e.getKey());
            s.i32(e.getValue().type().id());
            writeValue(s, e.getValue());
        }
        long offset = 0;
        for (PendingTensor t : tensors) {
            s.string(t.name());
            s.i32(t.shape().length);
            for (long d : t.shape()) s.i64(d);
            s.i32(t.type().id());
            s.i64(offset);
            offset = GGUFFile.align(offset + t.byteSize(), alignment);
        }
        s.padTo(alignment);
        return s.toByteArray();
    }

    /** Total size of the data section (each tensor padded to the alignment). */
    public long dataSize() {
        int alignment = alignment();
        long size = 0;
        for (PendingTensor t : tensors) size = GGUFFile.align(size + t.byteSize(), alignment);
        return size;
    }

    /**
     * Writes the file: to a temporary file next to {@code target}, which is flushed to disk and then atomically
     * renamed to {@code target} (replacing it). On any failure the temporary file is deleted and
     * {@code target} is left untouched.
     */
    public void write(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException(target + ": cannot write GGUF file, directory " + dir + " does not exist");
        }
        if (Files.isDirectory(abs)) throw new IOException(target + ": cannot write GGUF file, it is a directory");
        byte[] header = header();
        int alignment = alignment();
        long total = Math.addExact(header.length, dataSize());
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        boolean ok = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer hb = ByteBuffer.wrap(header);
                while (hb.hasRemaining()) ch.write(hb);
                if (total > header.length) {
                    // extend to the full size (zero-filled, sparse where supported) so that padding is zeros
                    ch.write(ByteBuffer.wrap(new byte[1]), total - 1);
                }
                long offset = header.length;
                for (PendingTensor t : tensors) {
                    // shared: fillers may quantize rows in parallel straight into the mapping
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment dst = ch.map(FileChannel.MapMode.READ_WRITE, offset, t.byteSize(), arena);
                        try {
                            t.filler().fill(dst);
                        } catch (IOException | RuntimeException e) {
                            throw new IOException(target + ": writing data of tensor '" + t.name() + "' failed: " + e.getMessage(), e);
                        }
                    }
                    offset = header.length + GGUFFile.align(offset - header.length + t.byteSize(), alignment);
                }
                if (ch.size() != total) {
                    throw new IOException(target + ": internal error, wrote " + ch.size() + " bytes, expected " + total);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            ok = true;
        } finally {
            if (!ok) Files.deleteIfExists(tmp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true); // persist the rename; best effort (not all platforms allow opening directories)
        } catch (IOException | UnsupportedOperationException ignored) {
        }
    }

    // ---------------------------------------------------------------- value encoding

    private static void validateValue(GGUFValue v, String what, int depth) {
        if (v.type() == null) throw new IllegalArgumentException(what + " has no type");
        Object o = v.value();
        if (o == null) throw new IllegalArgumentException(what + " has a null value");
        if (v.type() != GGUFValueType.ARRAY) {
            if (v.elementType() != null) {
                throw new IllegalArgumentException(what + " is a scalar " + v.type() + " but has an element type " + v.elementType());
            }
            switch (v.type()) {
                case UINT8 -> checkInt(o, what, v.type(), -128, 255);
                case INT8 -> checkInt(o, what, v.type(), -128, 255);
                case UINT16, INT16 -> checkInt(o, what, v.type(), -32768, 65535);
                case UINT32, INT32 -> checkInt(o, what, v.type(), Integer.MIN_VALUE, 0xffffffffL);
                case UINT64, INT64 -> checkInt(o, what, v.type(), Long.MIN_VALUE, Long.MAX_VALUE);
                case FLOAT32, FLOAT64 -> {
                    if (!(o instanceof Float || o instanceof Double)) throw wrongJava(what, v.type(), o, "Float or Double");
                }
                case BOOL -> { if (!(o instanceof Boolean)) throw wrongJava(what, v.type(), o, "Boolean"); }
                case STRING -> { if (!(o instanceof String)) throw wrongJava(what, v.type(), o, "String"); }
                case ARRAY -> throw new AssertionError();
            }
            return;
        }
        if (depth >= MAX_NESTING) throw new IllegalArgumentException(what + " nests arrays more than " + MAX_NESTING + " deep");
        GGUFValueType et = v.elementType();
        if (et == null) throw new IllegalArgumentException(what + " is an ARRAY without an element type");
        boolean ok = switch (et) {
            case UINT8, INT8, UINT16, INT16, INT32 -> o instanceof int[];
            case UINT32 -> o instanceof int[] || o instanceof long[];
            case UINT64, INT64 -> o instanceof long[];
            case FLOAT32 -> o instanceof float[];
            case FLOAT64 -> o instanceof double[];
            case BOOL -> o instanceof boolean[];
            case STRING -> o instanceof String[];
            case ARRAY -> o instanceof GGUFValue[];
        };
        if (!ok) throw wrongJava(what, GGUFValueType.ARRAY, o, "an array matching element type " + et);
        switch (o) {
            case int[] a when et == GGUFValueType.UINT8 || et == GGUFValueType.INT8 -> {
                for (int i = 0; i < a.length; i++) if (a[i] < -128 || a[i] > 255) throw outOfRange(what + "[" + i + "]", et, a[i]);
            }
            case int[] a when et == GGUFValueType.UINT16 || et == GGUFValueType.INT16 -> {
                for (int i = 0; i < a.length; i++) if (a[i] < -32768 || a[i] > 65535) throw outOfRange(what + "[" + i + "]", et, a[i]);
            }
            case long[] a when et == GGUFValueType.UINT32 -> {
                for (int i = 0; i < a.length; i++) if (a[i] < Integer.MIN_VALUE || a[i] > 0xffffffffL) throw outOfRange(what + "[" + i + "]", et, a[i]);
            }
            case String[] a -> {
                for (int i = 0; i < a.length; i++) if (a[i] == null) throw new IllegalArgumentException(what + "[" + i + "] is null");
            }
            case GGUFValue[] a -> {
                for (int i = 0; i < a.length; i++) {
                    if (a[i] == null || a[i].type() != GGUFValueType.ARRAY) {
                        throw new IllegalArgumentException(what + "[" + i + "] must be an ARRAY value (element type ARRAY)");
                    }
                    validateValue(a[i], what + "[" + i + "]", depth + 1);
                }
            }
            default -> {}
        }
    }

    private static void checkInt(Object o, String what, GGUFValueType t, long min, long max) {
        long x;
        if (o instanceof Integer || o instanceof Long || o instanceof Short || o instanceof Byte) x = ((Number) o).longValue();
        else throw wrongJava(what, t, o, "Integer or Long");
        if (x < min || x > max) throw outOfRange(what, t, x);
    }

    private static IllegalArgumentException outOfRange(String what, GGUFValueType t, long x) {
        return new IllegalArgumentException(what + " = " + x + " does not fit in " + t);
    }

    private static IllegalArgumentException wrongJava(String what, GGUFValueType t, Object o, String expected) {
        return new IllegalArgumentException(what + " of type " + t + " holds a " + o.getClass().getSimpleName()
                + "; expected " + expected);
    }

    private static void writeValue(Sink s, GGUFValue v) {
        Object o = v.value();
        switch (v.type()) {
            case UINT8, INT8 -> s.u8(((Number) o).intValue());
            case UINT16, INT16 -> s.i16(((Number) o).intValue());
            case UINT32, INT32 -> s.i32(((Number) o).intValue());
            case UINT64, INT64 -> s.i64(((Number) o).longValue());
            case FLOAT32 -> s.i32(Float.floatToRawIntBits(((Number) o).floatValue()));
            case FLOAT64 -> s.i64(Double.doubleToRawLongBits(((Number) o).doubleValue()));
            case BOOL -> s.u8((Boolean) o ? 1 : 0);
            case STRING -> s.string((String) o);
            case ARRAY -> writeArray(s, v);
        }
    }

    private static void writeArray(Sink s, GGUFValue v) {
        GGUFValueType et = v.elementType();
        s.i32(et.id());
        s.i64(v.length());
        switch (v.value()) {
            case int[] a -> {
                switch (et.size()) {
                    case 1 -> { for (int x : a) s.u8(x); }
                    case 2 -> { for (int x : a) s.i16(x); }
                    default -> { for (int x : a) s.i32(x); }
                }
            }
            case long[] a -> {
                if (et == GGUFValueType.UINT32) { for (long x : a) s.i32((int) x); }
                else { for (long x : a) s.i64(x); }
            }
            case float[] a -> { for (float x : a) s.i32(Float.floatToRawIntBits(x)); }
            case double[] a -> { for (double x : a) s.i64(Double.doubleToRawLongBits(x)); }
            case boolean[] a -> { for (boolean x : a) s.u8(x ? 1 : 0); }
            case String[] a -> { for (String x : a) s.string(x); }
            case GGUFValue[] a -> { for (GGUFValue x : a) writeArray(s, x); }
            default -> throw new AssertionError(v.value().getClass());
        }
    }

    /** Growable little-endian byte buffer for the header. */
    private static final class Sink {
        private byte[] buf = new byte[4096];
        private int n;

        private void ensure(int more) {
            if (n + more > buf.length) {
                long cap = Math.max((long) buf.length * 2, (long) n + more);
                if (cap > Integer.MAX_VALUE - 16) throw new IllegalStateException("GGUF header larger than 2 GB");
                buf = Arrays.copyOf(buf, (int) cap);
            }
        }

        void u8(int v) { ensure(1); buf[n++] = (byte) v; }
        void i16(int v) { ensure(2); buf[n++] = (byte) v; buf[n++] = (byte) (v >>> 8); }
        void i32(int v) { ensure(4); for (int i = 0; i < 4; i++) buf[n++] = (byte) (v >>> (8 * i)); }
        void i64(long v) { ensure(8); for (int i = 0; i < 8; i++) buf[n++] = (byte) (v >>> (8 * i)); }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, n, b.length);
            n += b.length;
        }

        void padTo(int alignment) {
            int target = (int) GGUFFile.align(n, alignment);
            ensure(target - n);
            n = target; // buffer bytes beyond n are zero (never written before)
        }

        byte[] toByteArray() { return Arrays.copyOf(buf, n); }
    }

    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
}
