package io.jlm.formats.gguf;

import io.jlm.core.tensor.GGMLType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF (v2/v3) file, memory-mapped read-only. Metadata and tensor infos are parsed eagerly with bounds checks;
 * tensor data stays in the mapping ({@link #tensorData}) and is never copied to the heap.
 */
public final class GGUFFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    /** Limits on single metadata items (far above any real model: vocabularies have ~10^5..10^6 entries). */
    static final int MAX_STRING_BYTES = 1 << 30;
    static final int MAX_ARRAY_LENGTH = 1 << 27;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final GGUFMetadata metadata;
    private final List<GGUFTensorInfo> tensors;
    private final Map<String, GGUFTensorInfo> byName;
    private final int alignment;
    private final long dataOffset;

    private GGUFFile(Path path, Arena arena, MemorySegment file, int version, GGUFMetadata metadata,
                     List<GGUFTensorInfo> tensors, int alignment, long dataOffset) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.version = version;
        this.metadata = metadata;
        this.tensors = Collections.unmodifiableList(tensors);
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        Map<String, GGUFTensorInfo> m = new HashMap<>();
        for (GGUFTensorInfo t : tensors) m.put(t.name(), t);
        this.byName = m;
    }

    /** Opens and validates a GGUF file. Errors name the file, the field and the expected value. */
    public static GGUFFile open(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new GGUFFormatException(path + ": no such file (expected a GGUF model file)");
        }
        if (!Files.isRegularFile(path)) {
            throw new GGUFFormatException(path + ": not a regular file (expected a GGUF model file)");
        }
        Arena arena = Arena.ofShared();
        boolean ok = false;
        try {
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size < 24) checkTinyFile(path, ch, size);
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            }
            GGUFFile f = parseChecked(path, arena, seg);
            ok = true;
            return f;
        } finally {
            if (!ok) arena.close();
        }
    }

    /**
     * Parses GGUF bytes already in memory (e.g. a heap segment); {@code name} is used in messages. The returned
     * file's {@link #close} closes {@code arena}, which the caller may pass as the segment's owner.
     */
    static GGUFFile parse(Path name, Arena arena, MemorySegment seg) throws GGUFFormatException {
        return parseChecked(name, arena, seg);
    }

    private static GGUFFile parseChecked(Path path, Arena arena, MemorySegment seg) throws GGUFFormatException {
        try {
            return parseUnchecked(path, arena, seg);
        } catch (OutOfMemoryError e) {
            throw new GGUFFormatException(path + ": metadata too large to load (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            // defensive: a malformed file must never surface as an unchecked exception
            GGUFFormatException g = new GGUFFormatException(path + ": malformed GGUF file (" + e + ")");
            g.initCause(e);
            throw g;
        }
    }

    /** Files shorter than the 24-byte GGUF header: say whether they are empty, foreign or truncated. */
    private static void checkTinyFile(Path path, FileChannel ch, long size) throws IOException {
        if (size == 0) throw new GGUFFormatException(path + ": file is empty (0 bytes); expected a GGUF model file");
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) size);
        while (b.hasRemaining() && ch.read(b) >= 0) { }
        byte[] a = b.array();
        boolean magicOk = size >= 4 && a[0] == 'G' && a[1] == 'G' && a[2] == 'U' && a[3] == 'F';
        if (!magicOk && !(size < 4 && new String(a, StandardCharsets.ISO_8859_1).equals("GGUF".substring(0, (int) size)))) {
            throw new GGUFFormatException(path + ": bad magic, not a GGUF file (" + size + " bytes, does not start with \"GGUF\")");
        }
        throw new GGUFFormatException(path + ": file is truncated: " + size + " bytes, shorter than the 24-byte GGUF header");
    }

    private static GGUFFile parseUnchecked(Path path, Arena arena, MemorySegment seg) throws GGUFFormatException {
        Cursor c = new Cursor(path, seg);
        int magic = c.i32("magic");
        if (magic != MAGIC) {
            throw new GGUFFormatException(path + ": bad magic 0x" + Integer.toHexString(magic)
                    + "; expected 0x46554747 (\"GGUF\") -- not a GGUF file" + foreignHint(seg));
        }
        int version = c.i32("version");
        if (version == 0x02000000 || version == 0x03000000) {
            throw new GGUFFormatException(path + ": big-endian GGUF file (version field " + Integer.reverseBytes(version)
                    + " byte-swapped); only little-endian GGUF is supported");
        }
        if (version != 2 && version != 3) {
            throw new GGUFFormatException(path + ": unsupported GGUF version " + Integer.toUnsignedString(version)
                    + "; expected 2 or 3");
        }
        long tensorCount = c.i64("tensor_count");
        long kvCount = c.i64("metadata_kv_count");
        // every tensor info needs >= 8+4+8+4+8 bytes, every kv >= 8+4+1 bytes
        if (tensorCount < 0 || tensorCount > c.remaining() / 32) {
            throw new GGUFFormatException(path + ": tensor_count " + Long.toUnsignedString(tensorCount)
                    + " is impossible for a file of " + seg.byteSize() + " bytes (corrupt or truncated)");
        }
        if (kvCount < 0 || kvCount > c.remaining() / 13) {
            throw new GGUFFormatException(path + ": metadata_kv_count " + Long.toUnsignedString(kvCount)
                    + " is impossible for a file of " + seg.byteSize() + " bytes (corrupt or truncated)");
        }
        Map<String, GGUFValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = c.string("metadata key #" + i);
            int typeId = c.i32("type of metadata '" + key + "'");
            GGUFValueType type = GGUFValueType.fromId(typeId);
            if (type == null) {
                throw new GGUFFormatException(path + ": metadata '" + key + "' has unknown value type " + typeId
                        + "; expected 0..12");
            }
            if (kv.containsKey(key)) {
                throw new GGUFFormatException(path + ": duplicate metadata key '" + key + "'");
            }
            kv.put(key, c.value(type, "metadata '" + key + "'", 0));
        }
        GGUFMetadata metadata = new GGUFMetadata(kv, path.toString());
        int alignment = DEFAULT_ALIGNMENT;
        GGUFValue al = kv.get("general.alignment");
        if (al != null) {
            long a = al.value() instanceof Integer i ? i : al.value() instanceof Long l ? l : -1;
            if (a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
                throw new GGUFFormatException(path + ": general.alignment = " + al.value()
                        + "; expected a power of two (usually 32)");
            }
            alignment = (int) a;
        }
        List<GGUFTensorInfo> infos = new ArrayList<>((int) Math.min(tensorCount, 1024));
        java.util.Set<String> names = new java.util.HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = c.string("name of tensor #" + i);
            String what = "tensor '" + name + "'";
            if (!names.add(name)) throw new GGUFFormatException(path + ": duplicate " + what);
            int nDims = c.i32("n_dims of " + what);
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new GGUFFormatException(path + ": " + what + " has n_dims = " + Integer.toUnsignedString(nDims)
                        + "; expected 1.." + MAX_DIMS);
            }
            long[] shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                shape[d] = c.i64("ne[" + d + "] of " + what);
                if (shape[d] <= 0 || shape[d] > (1L << 40)) {
                    throw new GGUFFormatException(path + ": " + what + " has ne[" + d + "] = "
                            + Long.toUnsignedString(shape[d]) + "; expected a positive dimension <= 2^40");
                }
                elements = multiplyOrFail(path, what, elements, shape[d]);
            }
            int typeId = c.i32("type of " + what);
            GGMLType type = GGMLType.fromId(typeId);
            if (type == null) {
                throw new GGUFFormatException(path + ": " + what + " has unknown ggml type " + Integer.toUnsignedString(typeId)
                        + "; expected one of the GGML type ids (0=F32, 1=F16, 8=Q8_0, ...)");
            }
            if (shape[0] % type.blockSize() != 0) {
                throw new GGUFFormatException(path + ": " + what + " of type " + type + " has ne[0] = " + shape[0]
                        + "; expected a multiple of the block size " + type.blockSize());
            }
            long offset = c.i64("offset of " + what);
            if (offset < 0 || offset % alignment != 0) {
                throw new GGUFFormatException(path + ": " + what + " has data offset " + Long.toUnsignedString(offset)
                        + "; expected a multiple of the alignment " + alignment);
            }
            infos.add(new GGUFTensorInfo(name, shape, type, offset));
        }
        long dataOffset = align(c.position(), alignment);
        if (tensorCount > 0 && dataOffset > seg.byteSize()) {
            throw new GGUFFormatException(path + ": file is truncated: tensor data would start at byte " + dataOffset
                    + " but the file has " + seg.byteSize() + " bytes");
        }
        for (GGUFTensorInfo t : infos) {
            long size;
            try {
                size = t.byteSize();
            } catch (ArithmeticException e) {
                throw new GGUFFormatException(path + ": tensor '" + t.name() + "' is absurdly large");
            }
            long end = dataOffset + t.offset() + size;
            if (t.offset() > seg.byteSize() || end < 0 || end > seg.byteSize()) {
                throw new GGUFFormatException(path + ": tensor '" + t.name() + "' (" + t.type() + ", "
                        + java.util.Arrays.toString(t.shape()) + ") spans bytes " + (dataOffset + t.offset()) + ".." + end
                        + " but the file has " + seg.byteSize() + " bytes (truncated file or bad offset)");
            }
        }
        checkOverlaps(path, infos);
        return new GGUFFile(path, arena, seg, version, metadata, infos, alignment, dataOffset);
    }

    private static void checkOverlaps(Path path, List<GGUFTensorInfo> infos) throws GGUFFormatException {
        List<GGUFTensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(java.util.Comparator.comparingLong(GGUFTensorInfo::offset));
        for (int i = 1; i < sorted.size(); i++) {
            GGUFTensorInfo a = sorted.get(i - 1), b = sorted.get(i);
            if (a.offset() + a.byteSize() > b.offset()) {
                throw new GGUFFormatException(path + ": tensor '" + b.name() + "' at data offset " + b.offset()
                        + " overlaps tensor '" + a.name() + "' (offset " + a.offset() + ", " + a.byteSize() + " bytes)");
            }
        }
    }

    private static String foreignHint(MemorySegment seg) {
        if (seg.byteSize() >= 9) {
            long n = seg.get(I64, 0);
            if (n > 1 && n < seg.byteSize() && seg.get(ValueLayout.JAVA_BYTE, 8) == '{') return " (looks like a safetensors file)";
        }
        if (seg.byteSize() >= 4 && seg.get(ValueLayout.JAVA_BYTE, 0) == 'g' && seg.get(ValueLayout.JAVA_BYTE, 1) == 'g') {
            return " (possibly a legacy GGML/GGJT file; convert it to GGUF)";
        }
        return "";
    }

    private static long multiplyOrFail(Path path, String what, long a, long b) throws GGUFFormatException {
        try {
            long r = Math.multiplyExact(a, b);
            if (r > (1L << 42)) throw new ArithmeticException();
            return r;
        } catch (ArithmeticException e) {
            throw new GGUFFormatException(path + ": " + what + " has an absurd element count (dimension product overflows)");
        }
    }

    static long align(long x, int alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    public Path path() { return path; }
    public int version() { return version; }
    public GGUFMetadata metadata() { return metadata; }
    public List<GGUFTensorInfo> tensors() { return tensors; }
    public int alignment() { return alignment; }
    public long dataOffset() { return dataOffset; }
    public long fileSize() { return file.byteSize(); }

    /** The tensor with this name, or {@code null}. */
    public GGUFTensorInfo tensor(String name) { return byName.get(name); }

    /** The bytes of a tensor, a slice of the read-only mapping. */
    public MemorySegment tensorData(GGUFTensorInfo t) {
        return file.asSlice(dataOffset + t.offset(), t.byteSize());
    }

    /** The whole mapped file. */
    public MemorySegment segment() { return file; }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    /** Bounds-checked little-endian reader over the mapping. */
    private static final class Cursor {
        private final Path path;
        private final MemorySegment seg;
        private long pos;

        Cursor(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
        }

        long position() { return pos; }
        long remaining() { return seg.byteSize() - pos; }

        private void need(long n, String field) throws GGUFFormatException {
            if (n < 0 || n > remaining()) {
                throw new GGUFFormatException(path + ": file is truncated while reading " + field + " at byte " + pos
                        + " (needs " + (n < 0 ? Long.toUnsignedString(n) : n) + " bytes, " + remaining() + " left)");
            }
        }

        int i32(String field) throws GGUFFormatException {
            need(4, field);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        long i64(String field) throws GGUFFormatException {
            need(8, field);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        private final java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);

        String string(String field) throws GGUFFormatException {
            return string(field, -1);
        }

        /** Reads a string; the field name (with {@code [index]} if index >= 0) is only built for error messages. */
        String string(String field, long index) throws GGUFFormatException {
            if (remaining() < 8) need(8, "length of " + name(field, index));
            long len = seg.get(I64, pos);
            pos += 8;
            if (len < 0 || len > remaining()) {
                throw new GGUFFormatException(path + ": " + name(field, index) + " has length " + Long.toUnsignedString(len)
                        + " at byte " + (pos - 8) + " but only " + remaining() + " bytes remain (corrupt or truncated)");
            }
            if (len > MAX_STRING_BYTES) {
                throw new GGUFFormatException(path + ": " + name(field, index) + " has length " + len + " at byte " + (pos - 8)
                        + "; strings longer than " + MAX_STRING_BYTES + " bytes are not supported");
            }
            int n = (int) len;
            boolean ascii = true;
            for (int i = 0; i < n; i++) {
                if (seg.get(ValueLayout.JAVA_BYTE, pos + i) < 0) { ascii = false; break; }
            }
            byte[] b = seg.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            if (ascii) return new String(b, StandardCharsets.ISO_8859_1);
            try {
                return utf8.reset().decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                // not valid UTF-8 (rare in vocabularies): decoded with U+FFFD replacement, so such strings are lossy
                return new String(b, StandardCharsets.UTF_8);
            }
        }

        private static String name(String field, long index) {
            return index < 0 ? field : field + "[" + index + "]";
        }

        GGUFValue value(GGUFValueType type, String field, int depth) throws GGUFFormatException {
            return switch (type) {
                case UINT8 -> { need(1, field); int v = seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xff; yield new GGUFValue(type, null, v); }
                case INT8 -> { need(1, field); int v = seg.get(ValueLayout.JAVA_BYTE, pos++); yield new GGUFValue(type, null, v); }
                case UINT16 -> { need(2, field); int v = Short.toUnsignedInt(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos)); pos += 2; yield new GGUFValue(type, null, v); }
                case INT16 -> { need(2, field); int v = seg.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos); pos += 2; yield new GGUFValue(type, null, v); }
                case UINT32 -> new GGUFValue(type, null, Integer.toUnsignedLong(i32(field)));
                case INT32 -> new GGUFValue(type, null, i32(field));
                case FLOAT32 -> new GGUFValue(type, null, Float.intBitsToFloat(i32(field)));
                case BOOL -> {
                    need(1, field);
                    int b = seg.get(ValueLayout.JAVA_BYTE, pos++);
                    if (b != 0 && b != 1) throw new GGUFFormatException(path + ": " + field + " is a bool with value " + b + "; expected 0 or 1");
                    yield new GGUFValue(type, null, b == 1);
                }
                case STRING -> new GGUFValue(type, null, string(field));
                case UINT64, INT64 -> new GGUFValue(type, null, i64(field));
                case FLOAT64 -> new GGUFValue(type, null, Double.longBitsToDouble(i64(field)));
                case ARRAY -> array(field, depth);
            };
        }

        private GGUFValue array(String field, int depth) throws GGUFFormatException {
            if (depth > 8) throw new GGUFFormatException(path + ": " + field + " nests arrays more than 8 deep");
            int etId = i32("element type of " + field);
            GGUFValueType et = GGUFValueType.fromId(etId);
            if (et == null) {
                throw new GGUFFormatException(path + ": " + field + " is an array of unknown type " + etId + "; expected 0..12");
            }
            long n = i64("length of " + field);
            long minSize = et.size() > 0 ? et.size() : (et == GGUFValueType.STRING ? 8 : 12);
            if (n < 0 || n > remaining() / minSize) {
                throw new GGUFFormatException(path + ": " + field + " claims " + Long.toUnsignedString(n) + " elements of "
                        + et + " but only " + remaining() + " bytes remain (corrupt or truncated)");
            }
            if (n > MAX_ARRAY_LENGTH) {
                throw new GGUFFormatException(path + ": " + field + " has " + n + " elements; arrays longer than "
                        + MAX_ARRAY_LENGTH + " are not supported");
            }
            int len = (int) n;
            Object value = switch (et) {
                case STRING -> {
                    // grow while reading: a corrupt count fails at the first missing string, before a huge allocation
                    String[] a = new String[Math.min(len, 4096)];
                    for (int i = 0; i < len; i++) {
                        if (i == a.length) a = java.util.Arrays.copyOf(a, (int) Math.min(len, 2L * a.length));
                        a[i] = string(field, i);
                    }
                    yield a;
                }
                case UINT8 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = seg.get(ValueLayout.JAVA_BYTE, pos + i) & 0xff; pos += len; yield a; }
                case INT8 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = seg.get(ValueLayout.JAVA_BYTE, pos + i); pos += len; yield a; }
                case UINT16 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = Short.toUnsignedInt(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos + 2L * i)); pos += 2L * len; yield a; }
                case INT16 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = seg.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos + 2L * i); pos += 2L * len; yield a; }
                case UINT32, INT32 -> { int[] a = new int[len]; for (int i = 0; i < len; i++) a[i] = seg.get(I32, pos + 4L * i); pos += 4L * len; yield a; }
                case FLOAT32 -> { float[] a = new float[len]; for (int i = 0; i < len; i++) a[i] = Float.intBitsToFloat(seg.get(I32, pos + 4L * i)); pos += 4L * len; yield a; }
                case UINT64, INT64 -> { long[] a = new long[len]; for (int i = 0; i < len; i++) a[i] = seg.get(I64, pos + 8L * i); pos += 8L * len; yield a; }
                case FLOAT64 -> { double[] a = new double[len]; for (int i = 0; i < len; i++) a[i] = Double.longBitsToDouble(seg.get(I64, pos + 8L * i)); pos += 8L * len; yield a; }
                case BOOL -> {
                    boolean[] a = new boolean[len];
                    for (int i = 0; i < len; i++) a[i] = seg.get(ValueLayout.JAVA_BYTE, pos + i) != 0;
                    pos += len;
                    yield a;
                }
                case ARRAY -> {
                    GGUFValue[] a = new GGUFValue[Math.min(len, 4096)];
                    for (int i = 0; i < len; i++) {
                        if (i == a.length) a = java.util.Arrays.copyOf(a, (int) Math.min(len, 2L * a.length));
                        a[i] = array(field + "[" + i + "]", depth + 1);
                    }
                    yield a;
                }
            };
            return new GGUFValue(GGUFValueType.ARRAY, et, value);
        }
    }
}
