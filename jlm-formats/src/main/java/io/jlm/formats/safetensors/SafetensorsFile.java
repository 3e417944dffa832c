package io.jlm.formats.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file, memory-mapped read-only: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}}),
 * then the data buffer. Offsets are relative to the buffer, which must be covered exactly by the tensors
 * (no holes, no overlaps), as in the reference implementation. Shapes are as stored: outermost dimension first
 * (the reverse of GGUF's ne0-first order; see {@link Tensor#ggufShape()}).
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Header size limit of the reference implementation (100 MB). */
    public static final long MAX_HEADER_SIZE = 100L << 20;
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** One tensor; {@code begin}/{@code end} are byte offsets relative to the data buffer. */
    public record Tensor(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {
        public Tensor {
            shape = shape.clone();
        }

        @Override public long[] shape() { return shape.clone(); }

        public long elements() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }

        public long byteSize() { return end - begin; }

        /** The shape in GGUF order (ne0, the contiguous dimension, first). */
        public long[] ggufShape() {
            long[] r = new long[shape.length];
            for (int i = 0; i < r.length; i++) r[i] = shape[shape.length - 1 - i];
            return r;
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final long dataOffset;
    private final List<Tensor> tensors;
    private final Map<String, Tensor> byName;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment file, long dataOffset, List<Tensor> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.dataOffset = dataOffset;
        this.tensors = Collections.unmodifiableList(tensors);
        Map<String, Tensor> m = new HashMap<>();
        for (Tensor t : tensors) m.put(t.name(), t);
        this.byName = m;
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Opens and validates a safetensors file. Errors name the file, the field and the expected value. */
    public static SafetensorsFile open(Path path) throws IOException {
        if (!Files.exists(path)) throw new SafetensorsFormatException(path + ": no such file (expected a safetensors file)");
        if (!Files.isRegularFile(path)) throw new SafetensorsFormatException(path + ": not a regular file (expected a safetensors file)");
        Arena arena = Arena.ofShared();
        boolean ok = false;
        try {
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size == 0) throw new SafetensorsFormatException(path + ": file is empty (0 bytes); expected a safetensors file");
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            }
            SafetensorsFile f = parse(path, arena, seg);
            ok = true;
            return f;
        } catch (RuntimeException e) {
            throw new SafetensorsFormatException(path + ": malformed safetensors file (" + e + ")", e);
        } finally {
            if (!ok) arena.close();
        }
    }

    private static SafetensorsFile parse(Path path, Arena arena, MemorySegment seg) throws SafetensorsFormatException {
        long size = seg.byteSize();
        if (size < 8) {
            throw new SafetensorsFormatException(path + ": file is truncated: " + size + " bytes, shorter than the 8-byte header length");
        }
        long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 2 || n > MAX_HEADER_SIZE) {
            throw new SafetensorsFormatException(path + ": header length " + Long.toUnsignedString(n)
                    + " is invalid; expected 2.." + MAX_HEADER_SIZE + " bytes" + foreignHint(seg));
        }
        if (n > size - 8) {
            throw new SafetensorsFormatException(path + ": file is truncated: header length " + n + " but only "
                    + (size - 8) + " bytes follow" + foreignHint(seg));
        }
        byte first = seg.get(ValueLayout.JAVA_BYTE, 8);
        if (first != '{') {
            throw new SafetensorsFormatException(path + ": header does not start with '{' (byte 0x"
                    + Integer.toHexString(first & 0xff) + "); not a safetensors file" + foreignHint(seg));
        }
        byte[] headerBytes = seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(headerBytes);
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(path + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SafetensorsFormatException(path + ": header is not readable JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(path + ": header is not a JSON object");
        }
        long dataOffset = 8 + n;
        long dataSize = size - dataOffset;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Tensor> tensors = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!v.isObject()) throw new SafetensorsFormatException(path + ": " + METADATA_KEY + " is not a JSON object");
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> me = m.next();
                    if (!me.getValue().isTextual()) {
                        throw new SafetensorsFormatException(path + ": " + METADATA_KEY + " entry '" + me.getKey()
                                + "' is " + me.getValue().getNodeType() + "; expected a string");
                    }
                    metadata.put(me.getKey(), me.getValue().textValue());
                }
                continue;
            }
            tensors.add(tensor(path, name, v, dataSize));
        }
        // the buffer must be covered exactly: sorted by offset, each tensor starts where the previous ended
        List<Tensor> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingLong(Tensor::begin).thenComparingLong(Tensor::end));
        long expected = 0;
        Tensor prev = null;
        for (Tensor t : sorted) {
            if (t.begin() < expected) {
                throw new SafetensorsFormatException(path + ": tensor '" + t.name() + "' (bytes " + t.begin() + ".." + t.end()
                        + ") overlaps tensor '" + prev.name() + "' (bytes " + prev.begin() + ".." + prev.end() + ")");
            }
            if (t.begin() > expected) {
                throw new SafetensorsFormatException(path + ": data buffer has a hole at bytes " + expected + ".." + t.begin()
                        + " before tensor '" + t.name() + "'; expected tensors to cover the buffer contiguously");
            }
            expected = t.end();
            prev = t;
        }
        if (expected != dataSize) {
            throw new SafetensorsFormatException(path + ": tensors cover " + expected + " bytes of the data buffer but it has "
                    + dataSize + " bytes (trailing garbage or wrong offsets)");
        }
        return new SafetensorsFile(path, arena, seg, dataOffset, tensors, metadata);
    }

    private static Tensor tensor(Path path, String name, JsonNode v, long dataSize) throws SafetensorsFormatException {
        String what = path + ": tensor '" + name + "'";
        if (!v.isObject()) throw new SafetensorsFormatException(what + " is " + v.getNodeType() + "; expected a JSON object");
        for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("dtype") && !f.equals("shape") && !f.equals("data_offsets")) {
                throw new SafetensorsFormatException(what + " has unknown field '" + f + "'; expected dtype, shape, data_offsets");
            }
        }
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) throw new SafetensorsFormatException(what + " has no string 'dtype'");
        SafetensorsDType dtype = SafetensorsDType.fromName(dt.textValue());
        if (dtype == null) {
            throw new SafetensorsFormatException(what + " has unknown dtype '" + dt.textValue() + "'; expected one of "
                    + Arrays.toString(SafetensorsDType.values()));
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) throw new SafetensorsFormatException(what + " has no array 'shape'");
        long[] shape = new long[sh.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(sh.get(i), what + " shape[" + i + "]");
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException e) {
                throw new SafetensorsFormatException(what + " has shape " + sh + " whose element count overflows");
            }
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) {
            throw new SafetensorsFormatException(what + " needs 'data_offsets' = [begin, end]");
        }
        long begin = nonNegativeLong(off.get(0), what + " data_offsets[0]");
        long end = nonNegativeLong(off.get(1), what + " data_offsets[1]");
        if (begin > end || end > dataSize) {
            throw new SafetensorsFormatException(what + " has data_offsets [" + begin + ", " + end + "]; expected begin <= end <= "
                    + dataSize + " (the data buffer size; truncated file or bad offsets)");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(elements, (long) dtype.size());
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(what + " is absurdly large");
        }
        if (end - begin != bytes) {
            throw new SafetensorsFormatException(what + " (" + dtype + ", shape " + sh + ") needs " + bytes
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
        }
        return new Tensor(name, dtype, shape, begin, end);
    }

    private static long nonNegativeLong(JsonNode n, String what) throws SafetensorsFormatException {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
            throw new SafetensorsFormatException(what + " is " + n + "; expected a non-negative integer");
        }
        return n.longValue();
    }

    private static String foreignHint(MemorySegment seg) {
        if (seg.byteSize() >= 4 && seg.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0) == 0x46554747) {
            return " (this is a GGUF file)";
        }
        return "";
    }

    public Path path() { return path; }

    /** Tensors in header order. */
    public List<Tensor> tensors() { return tensors; }

    /** The tensor with this name, or {@code null}. */
    public Tensor tensor(String name) { return byName.get(name); }

    /** The string map {@code __metadata__} (empty if absent). */
    public Map<String, String> metadata() { return metadata; }

    /** File offset of the data buffer (8 + header length). */
    public long dataOffset() { return dataOffset; }

    public long fileSize() { return file.byteSize(); }

    /** The bytes of a tensor (little-endian), a slice of the read-only mapping. */
    public MemorySegment tensorData(Tensor t) {
        return file.asSlice(dataOffset + t.begin(), t.byteSize());
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

}
