package io.jlm.formats.gguf;

import io.jlm.core.tensor.GGMLType;
import io.jlm.core.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.jlm.formats.gguf.GGUFTestValues.assertSameMetadata;
import static org.junit.jupiter.api.Assertions.*;

class GGUFWriterTest {
    @TempDir Path tmp;

    private static GGUFValue arr(GGUFValueType et, Object v) { return new GGUFValue(GGUFValueType.ARRAY, et, v); }
    private static GGUFValue sc(GGUFValueType t, Object v) { return new GGUFValue(t, null, v); }

    /** Every scalar type, every array element type, nested arrays, empty arrays, non-ASCII strings. */
    static Map<String, GGUFValue> allTypesMetadata() {
        Map<String, GGUFValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GGUFValue.of("llama"));
        m.put("u8", sc(GGUFValueType.UINT8, 255));
        m.put("i8", sc(GGUFValueType.INT8, -128));
        m.put("u16", sc(GGUFValueType.UINT16, 65535));
        m.put("i16", sc(GGUFValueType.INT16, -32768));
        m.put("u32", sc(GGUFValueType.UINT32, 0xffffffffL));
        m.put("i32", sc(GGUFValueType.INT32, Integer.MIN_VALUE));
        m.put("f32", sc(GGUFValueType.FLOAT32, -1.5e-7f));
        m.put("f32.nan", sc(GGUFValueType.FLOAT32, Float.NaN));
        m.put("bool.t", sc(GGUFValueType.BOOL, true));
        m.put("bool.f", sc(GGUFValueType.BOOL, false));
        m.put("str", GGUFValue.of("héllo wörld ✓ 🦙\n\t\"quoted\""));
        m.put("str.empty", GGUFValue.of(""));
        m.put("u64", sc(GGUFValueType.UINT64, -1L));
        m.put("i64", sc(GGUFValueType.INT64, Long.MIN_VALUE));
        m.put("f64", sc(GGUFValueType.FLOAT64, Math.PI));
        m.put("a.u8", arr(GGUFValueType.UINT8, new int[]{0, 1, 127, 128, 255}));
        m.put("a.i8", arr(GGUFValueType.INT8, new int[]{-128, -1, 0, 127}));
        m.put("a.u16", arr(GGUFValueType.UINT16, new int[]{0, 65535, 1234}));
        m.put("a.i16", arr(GGUFValueType.INT16, new int[]{-32768, 32767, -2}));
        m.put("a.u32", arr(GGUFValueType.UINT32, new int[]{0, -1, 42}));
        m.put("a.i32", arr(GGUFValueType.INT32, new int[]{Integer.MIN_VALUE, Integer.MAX_VALUE, 0}));
        m.put("a.f32", arr(GGUFValueType.FLOAT32, new float[]{1f, -0f, Float.POSITIVE_INFINITY, 3.25e-3f}));
        m.put("a.bool", arr(GGUFValueType.BOOL, new boolean[]{true, false, true}));
        m.put("a.str", arr(GGUFValueType.STRING, new String[]{"a", "", "▁the", "<0x0A>", "日本語"}));
        m.put("a.u64", arr(GGUFValueType.UINT64, new long[]{0, -1L, Long.MAX_VALUE}));
        m.put("a.i64", arr(GGUFValueType.INT64, new long[]{Long.MIN_VALUE, 7}));
        m.put("a.f64", arr(GGUFValueType.FLOAT64, new double[]{Math.E, -0.0, 1e300}));
        m.put("a.empty", arr(GGUFValueType.INT32, new int[0]));
        m.put("a.empty.str", arr(GGUFValueType.STRING, new String[0]));
        m.put("a.nested", arr(GGUFValueType.ARRAY, new GGUFValue[]{
                arr(GGUFValueType.INT32, new int[]{1, 2, 3}),
                arr(GGUFValueType.STRING, new String[]{"x", "yz"}),
                arr(GGUFValueType.ARRAY, new GGUFValue[]{arr(GGUFValueType.FLOAT64, new double[]{0.5}),
                        arr(GGUFValueType.BOOL, new boolean[0])}),
                arr(GGUFValueType.UINT8, new int[0])}));
        return m;
    }

    record T(String name, GGMLType type, long[] shape, byte[] data) {}

    static List<T> someTensors(long seed) {
        Random r = new Random(seed);
        List<T> ts = new ArrayList<>();
        Object[][] specs = {
                {"tok_embd.weight", GGMLType.F32, new long[]{7}},
                {"blk.0.attn_q.weight", GGMLType.F16, new long[]{3, 5}},
                {"blk.0.ffn.weight", GGMLType.Q8_0, new long[]{64, 3}},
                {"blk.0.ffn_down.weight", GGMLType.Q4_K, new long[]{256, 2}},
                {"four.dims", GGMLType.I32, new long[]{3, 2, 2, 2}},
                {"bf", GGMLType.BF16, new long[]{33, 1, 1}},
                {"q", GGMLType.Q6_K, new long[]{512}},
                {"one", GGMLType.I8, new long[]{1}},
        };
        for (Object[] s : specs) {
            GGMLType type = (GGMLType) s[1];
            long[] shape = (long[]) s[2];
            long n = 1;
            for (long d : shape) n *= d;
            byte[] data = new byte[(int) type.byteSize(n)];
            r.nextBytes(data);
            ts.add(new T((String) s[0], type, shape, data));
        }
        return ts;
    }

    static GGUFWriter writer(Map<String, GGUFValue> md, List<T> ts, boolean fillers) {
        GGUFWriter w = new GGUFWriter();
        md.forEach(w::put);
        for (T t : ts) {
            if (fillers) w.addTensor(t.name, t.type, t.shape, dst -> MemorySegment.copy(t.data, 0, dst, ValueLayout.JAVA_BYTE, 0, t.data.length));
            else w.addTensor(t.name, t.type, t.shape, t.data);
        }
        return w;
    }

    private void roundTrip(Map<String, GGUFValue> md, int expectedAlignment, boolean fillers) throws IOException {
        List<T> ts = someTensors(expectedAlignment);
        Path p = tmp.resolve("rt-" + expectedAlignment + "-" + fillers + ".gguf");
        writer(md, ts, fillers).write(p);
        try (GGUFFile f = GGUFFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(expectedAlignment, f.alignment());
            assertSameMetadata(md, f.metadata().entries());
            assertEquals(ts.size(), f.tensors().size());
            assertEquals(0, f.dataOffset() % expectedAlignment);
            long expectedOffset = 0;
            for (int i = 0; i < ts.size(); i++) {
                T t = ts.get(i);
                GGUFTensorInfo info = f.tensors().get(i);
                assertEquals(t.name, info.name());
                assertEquals(t.type, info.type());
                assertArrayEquals(t.shape, info.shape());
                assertEquals(0, info.offset() % expectedAlignment, "offset aligned");
                assertEquals(expectedOffset, info.offset(), "tensors packed in order");
                expectedOffset = (info.offset() + t.data.length + expectedAlignment - 1) / expectedAlignment * expectedAlignment;
                assertArrayEquals(t.data, f.tensorData(info).toArray(ValueLayout.JAVA_BYTE), t.name);
                assertSame(info, f.tensor(t.name));
            }
            // llama.cpp layout: every tensor (including the last) is padded to the alignment with zeros
            assertEquals(f.dataOffset() + expectedOffset, f.fileSize());
            byte[] all = Files.readAllBytes(p);
            for (int i = 0; i < ts.size(); i++) {
                GGUFTensorInfo info = f.tensors().get(i);
                long end = f.dataOffset() + info.offset() + info.byteSize();
                long next = i + 1 < ts.size() ? f.dataOffset() + f.tensors().get(i + 1).offset() : all.length;
                for (long b = end; b < next; b++) assertEquals(0, all[(int) b], "padding byte " + b);
            }
        }
    }

    @Test
    void roundTripAllValueTypesDefaultAlignment() throws IOException {
        roundTrip(allTypesMetadata(), 32, true);
        roundTrip(allTypesMetadata(), 32, false);
    }

    @Test
    void roundTripCustomAlignment() throws IOException {
        for (int a : new int[]{1, 8, 64, 4096}) {
            Map<String, GGUFValue> md = allTypesMetadata();
            md.put("general.alignment", GGUFValue.ofU32(a));
            roundTrip(md, a, true);
        }
    }

    @Test
    void emptyFileWithoutTensors() throws IOException {
        Path p = tmp.resolve("empty.gguf");
        new GGUFWriter().write(p);
        assertEquals(32, Files.size(p), "24-byte header padded to 32");
        try (GGUFFile f = GGUFFile.open(p)) {
            assertEquals(0, f.tensors().size());
            assertEquals(0, f.metadata().entries().size());
        }
    }

    /** The exact bytes of a tiny file, built independently with a ByteBuffer from the GGUF v3 spec. */
    @Test
    void exactBytesOfTinyFile() throws IOException {
        Path p = tmp.resolve("tiny.gguf");
        new GGUFWriter().putString("general.name", "t").putU32("n", 7)
                .addTensor("w", new long[]{2}, new float[]{1f, -2f}).write(p);
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        b.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(1).putLong(2);
        b.putLong(12).put("general.name".getBytes(StandardCharsets.US_ASCII)).putInt(8).putLong(1).put((byte) 't');
        b.putLong(1).put((byte) 'n').putInt(4).putInt(7);
        b.putLong(1).put((byte) 'w').putInt(1).putLong(2).putInt(0).putLong(0);
        while (b.position() % 32 != 0) b.put((byte) 0);
        b.putFloat(1f).putFloat(-2f);
        while (b.position() % 32 != 0) b.put((byte) 0);
        byte[] expected = new byte[b.position()];
        b.flip().get(expected);
        assertArrayEquals(expected, Files.readAllBytes(p));
    }

    @Test
    void rewriteOfRealModelIsByteIdentical() throws IOException {
        for (String name : new String[]{"synth-llama-q4_k.gguf", "stories260K-f32.gguf", "synth-mamba-q8_0.gguf"}) {
            Path src = SharedData.require("conformance/models/" + name);
            Path out = tmp.resolve(name);
            try (GGUFFile f = GGUFFile.open(src)) {
                GGUFWriter.copyOf(f).write(out);
                try (GGUFFile g = GGUFFile.open(out)) {
                    assertSameMetadata(f.metadata().entries(), g.metadata().entries());
                    assertEquals(f.tensors().size(), g.tensors().size());
                    for (int i = 0; i < f.tensors().size(); i++) {
                        GGUFTensorInfo a = f.tensors().get(i), c = g.tensors().get(i);
                        assertEquals(a.toString(), c.toString());
                        assertEquals(-1, f.tensorData(a).mismatch(g.tensorData(c)), a.name());
                    }
                }
            }
            assertEquals(-1L, Files.mismatch(src, out), name + ": rewritten file must be byte-identical");
        }
    }

    @Test
    void validationMessages() {
        GGUFWriter w = new GGUFWriter();
        w.addTensor("a", GGMLType.F32, new long[]{4}, new byte[16]);
        assertMessage(() -> w.addTensor("a", GGMLType.F32, new long[]{4}, new byte[16]), "duplicate tensor 'a'");
        assertMessage(() -> w.addTensor("b", GGMLType.Q4_0, new long[]{16, 2}, new byte[36]), "multiple of the block size 32");
        assertMessage(() -> w.addTensor("c", GGMLType.F16, new long[]{4}, new byte[7]), "needs 8 bytes of data but 7");
        assertMessage(() -> w.addTensor("d", GGMLType.F32, new long[]{4, 0}, d -> {}), "ne[1] = 0");
        assertMessage(() -> w.addTensor("e", GGMLType.F32, new long[]{1, 1, 1, 1, 1}, d -> {}), "5 dimensions");
        assertMessage(() -> w.addTensor("f", GGMLType.F32, new long[]{1L << 40, 1L << 40}, d -> {}), "overflows");
        assertMessage(() -> w.addTensor("x".repeat(64), GGMLType.F32, new long[]{1}, d -> {}), "GGML_MAX_NAME");
        assertMessage(() -> w.put("general.alignment", GGUFValue.ofI32(32)), "expected UINT32");
        assertMessage(() -> w.put("general.alignment", GGUFValue.ofU32(48)), "power of two");
        assertMessage(() -> w.put("k", new GGUFValue(GGUFValueType.UINT8, null, 256)), "does not fit in UINT8");
        assertMessage(() -> w.put("k", new GGUFValue(GGUFValueType.STRING, null, 5)), "expected String");
        assertMessage(() -> w.put("k", new GGUFValue(GGUFValueType.ARRAY, GGUFValueType.FLOAT32, new int[1])), "element type FLOAT32");
        assertMessage(() -> w.put("k", new GGUFValue(GGUFValueType.ARRAY, GGUFValueType.INT16, new int[]{70000})), "k'[0] = 70000");
        GGUFValue deep = new GGUFValue(GGUFValueType.ARRAY, GGUFValueType.INT32, new int[0]);
        for (int i = 0; i < 9; i++) deep = new GGUFValue(GGUFValueType.ARRAY, GGUFValueType.ARRAY, new GGUFValue[]{deep});
        GGUFValue tooDeep = deep;
        assertMessage(() -> w.put("k", tooDeep), "more than 8 deep");
        assertEquals(1, w.tensors().size(), "failed adds leave no trace");
        assertTrue(w.metadata().isEmpty());
    }

    @Test
    void failingFillerLeavesNoFileBehind() throws IOException {
        Path p = tmp.resolve("model.gguf");
        Files.writeString(p, "previous");
        GGUFWriter w = new GGUFWriter().addTensor("a", GGMLType.F32, new long[]{1024}, dst -> {
            dst.fill((byte) 1);
            throw new IOException("disk on fire");
        });
        IOException e = assertThrows(IOException.class, () -> w.write(p));
        assertTrue(e.getMessage().contains("tensor 'a'") && e.getMessage().contains("disk on fire"), e.getMessage());
        assertEquals("previous", Files.readString(p), "target untouched");
        try (var s = Files.list(tmp)) {
            assertEquals(List.of(p), s.toList(), "temporary file removed");
        }
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable ex, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ex);
        assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should contain '" + part + "'");
    }
}
