package io.jlm.formats.safetensors;

import io.jlm.core.tensor.GGMLType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsFileTest {
    @TempDir Path tmp;

    /** A tensor to write: shape outermost first, raw little-endian bytes. */
    record T(String name, String dtype, long[] shape, byte[] data) {}

    /** Minimal independent writer: header JSON built by hand, padded with spaces to a multiple of 8. */
    static byte[] build(List<T> tensors, Map<String, String> metadata) {
        StringBuilder h = new StringBuilder("{");
        if (metadata != null) {
            h.append("\"__metadata__\":{");
            int i = 0;
            for (var e : metadata.entrySet()) {
                if (i++ > 0) h.append(',');
                h.append('"').append(e.getKey()).append("\":\"").append(e.getValue()).append('"');
            }
            h.append('}');
        }
        long off = 0;
        for (T t : tensors) {
            if (h.length() > 1) h.append(',');
            h.append('"').append(t.name).append("\":{\"dtype\":\"").append(t.dtype).append("\",\"shape\":[");
            for (int i = 0; i < t.shape.length; i++) h.append(i > 0 ? "," : "").append(t.shape[i]);
            h.append("],\"data_offsets\":[").append(off).append(',').append(off + t.data.length).append("]}");
            off += t.data.length;
        }
        h.append('}');
        while ((h.toString().getBytes(StandardCharsets.UTF_8).length) % 8 != 0) h.append(' ');
        return raw(h.toString(), concat(tensors));
    }

    static byte[] concat(List<T> tensors) {
        int n = 0;
        for (T t : tensors) n += t.data.length;
        ByteBuffer b = ByteBuffer.allocate(n);
        for (T t : tensors) b.put(t.data);
        return b.array();
    }

    static byte[] raw(String header, byte[] data) {
        byte[] hb = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + hb.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(hb.length).put(hb).put(data).array();
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    static List<T> sample() {
        Random r = new Random(7);
        byte[] f16 = new byte[2 * 6], bf16 = new byte[2 * 4], i8 = new byte[5], i64 = new byte[8 * 3];
        r.nextBytes(f16);
        r.nextBytes(bf16);
        r.nextBytes(i8);
        r.nextBytes(i64);
        return List.of(
                new T("model.embed_tokens.weight", "F32", new long[]{2, 3}, floats(1, 2, 3, 4, 5, -6.5f)),
                new T("model.layers.0.mlp.up_proj.weight", "F16", new long[]{3, 2}, f16),
                new T("lm_head.weight", "BF16", new long[]{1, 4}, bf16),
                new T("q", "I8", new long[]{5}, i8),
                new T("ids", "I64", new long[]{3}, i64),
                new T("scalar", "F32", new long[]{}, floats(42f)),
                new T("empty", "F32", new long[]{0, 4}, new byte[0]),
                new T("flag", "BOOL", new long[]{1}, new byte[]{1}));
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void readsTensorsMetadataAndData() throws IOException {
        List<T> ts = sample();
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", "pt");
        md.put("note", "héllo");
        byte[] bytes = build(ts, md);
        try (SafetensorsFile f = SafetensorsFile.open(write("m.safetensors", bytes))) {
            assertEquals(md, f.metadata());
            assertEquals(ts.size(), f.tensors().size());
            int headerLen = (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(8 + headerLen, f.dataOffset());
            assertEquals(0, f.dataOffset() % 8);
            for (int i = 0; i < ts.size(); i++) {
                T t = ts.get(i);
                SafetensorsFile.Tensor info = f.tensors().get(i);
                assertEquals(t.name, info.name(), "header order kept");
                assertEquals(t.dtype, info.dtype().name());
                assertArrayEquals(t.shape, info.shape());
                assertArrayEquals(t.data, f.tensorData(info).toArray(ValueLayout.JAVA_BYTE), t.name);
                assertSame(info, f.tensor(t.name));
            }
            SafetensorsFile.Tensor emb = f.tensor("model.embed_tokens.weight");
            assertEquals(-6.5f, f.tensorData(emb).get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 20));
            assertArrayEquals(new long[]{3, 2}, emb.ggufShape());
            assertEquals(GGMLType.F32, emb.dtype().ggmlType());
            assertEquals(GGMLType.BF16, f.tensor("lm_head.weight").dtype().ggmlType());
            assertEquals(1, f.tensor("scalar").elements());
            assertEquals(0, f.tensor("empty").byteSize());
            assertNull(f.tensor("nope"));
        }
    }

    @Test
    void noMetadataAndNoTensors() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(write("e.safetensors", raw("{}      ", new byte[0])))) {
            assertTrue(f.tensors().isEmpty());
            assertTrue(f.metadata().isEmpty());
        }
    }

    private void expectError(String name, byte[] bytes, String... parts) throws IOException {
        Path p = write(name, bytes);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p), name);
        assertTrue(e.getMessage().contains(p.toString()), "names the file: " + e.getMessage());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), name + ": message '" + e.getMessage() + "' should contain '" + part + "'");
        }
    }

    private static String entry(String name, String dtype, String shape, long b, long e) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + b + "," + e + "]}";
    }

    @Test
    void malformedFiles() throws IOException {
        byte[] d8 = new byte[8];
        expectError("empty.st", new byte[0], "empty");
        expectError("short.st", new byte[]{1, 2, 3}, "truncated");
        expectError("hugelen.st", ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array(), "header length 18446744073709551615");
        expectError("trunc.st", Arrays.copyOf(build(sample(), null), 30), "truncated");
        expectError("notjson.st", raw("{not json}", d8), "not valid JSON");
        expectError("notobject.st", raw("[1,2]", d8), "does not start with '{'");
        expectError("gguf.st", ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putInt(0x46554747).putInt(3).array(), "GGUF file");
        expectError("dtype.st", raw("{" + entry("a", "F7", "[2]", 0, 8) + "}", d8), "tensor 'a'", "unknown dtype 'F7'");
        expectError("size.st", raw("{" + entry("a", "F32", "[3]", 0, 8) + "}", d8), "tensor 'a'", "needs 12 bytes");
        expectError("beyond.st", raw("{" + entry("a", "F32", "[4]", 0, 16) + "}", d8), "tensor 'a'", "truncated file or bad offsets");
        expectError("backwards.st", raw("{" + entry("a", "U8", "[0]", 8, 0) + "}", d8), "tensor 'a'", "begin <= end");
        expectError("negshape.st", raw("{" + entry("a", "F32", "[-2]", 0, 8) + "}", d8), "tensor 'a' shape[0]", "non-negative");
        expectError("fracshape.st", raw("{" + entry("a", "F32", "[2.5]", 0, 8) + "}", d8), "shape[0]");
        expectError("bigshape.st", raw("{" + entry("a", "F32", "[99999999999999999999]", 0, 8) + "}", d8), "shape[0]");
        expectError("overflow.st", raw("{" + entry("a", "F32", "[4294967296,4294967296,4294967296]", 0, 8) + "}", d8), "overflows");
        expectError("overlap.st", raw("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[1]", 4, 8) + "}", d8),
                "tensor 'b'", "overlaps tensor 'a'");
        expectError("hole.st", raw("{" + entry("a", "F32", "[1]", 4, 8) + "}", d8), "hole at bytes 0..4", "tensor 'a'");
        expectError("trailing.st", raw("{" + entry("a", "F32", "[1]", 0, 4) + "}", d8), "cover 4 bytes", "has 8 bytes");
        expectError("dup.st", raw("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("a", "F32", "[1]", 4, 8) + "}", d8),
                "not valid JSON", "Duplicate field 'a'");
        expectError("meta.st", raw("{\"__metadata__\":{\"k\":3}}", new byte[0]), "__metadata__ entry 'k'", "expected a string");
        expectError("meta2.st", raw("{\"__metadata__\":[1]}", new byte[0]), "__metadata__ is not a JSON object");
        expectError("field.st", raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", floats(1)), "unknown field 'x'");
        expectError("nooffsets.st", raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", floats(1)), "tensor 'a'", "data_offsets");
        expectError("notensorobj.st", raw("{\"a\":5}", new byte[0]), "tensor 'a'", "expected a JSON object");
    }

    @Test
    void bogusPaths() throws IOException {
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(tmp.resolve("missing.safetensors")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        Path dir = Files.createDirectory(tmp.resolve("d.safetensors"));
        e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(dir));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    /** Truncations and random corruptions: success or SafetensorsFormatException, nothing else. */
    @Test
    void mutations() throws IOException {
        byte[] f = build(sample(), Map.of("format", "pt"));
        Path p = tmp.resolve("mut.safetensors");
        Random r = new Random(3);
        int rejected = 0, accepted = 0;
        List<byte[]> variants = new ArrayList<>();
        for (int len = 0; len < f.length; len += 3) variants.add(Arrays.copyOf(f, len));
        for (int i = 0; i < 300; i++) {
            byte[] m = f.clone();
            for (int k = 0, edits = 1 + r.nextInt(3); k < edits; k++) {
                int pos = r.nextInt(Math.min(m.length, 8 + 64 + r.nextInt(m.length)));
                m[pos] = r.nextBoolean() ? (byte) r.nextInt(256) : (byte) (m[pos] ^ (1 << r.nextInt(8)));
            }
            variants.add(m);
        }
        for (byte[] m : variants) {
            Files.write(p, m);
            try (SafetensorsFile s = SafetensorsFile.open(p)) {
                for (SafetensorsFile.Tensor t : s.tensors()) s.tensorData(t).toArray(ValueLayout.JAVA_BYTE);
                accepted++;
            } catch (SafetensorsFormatException e) {
                assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
                assertFalse(e.getMessage().contains("malformed safetensors file ("), "unchecked exception inside the reader: " + e.getMessage());
                rejected++;
            } catch (Throwable t) {
                throw new AssertionError("expected SafetensorsFormatException, got " + t, t);
            }
        }
        assertTrue(rejected > 200, "rejected " + rejected + ", accepted " + accepted);
    }
}
