package io.jlm.formats.gguf;

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
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** GGUFFile must reject every malformed file with a GGUFFormatException naming the file and the problem. */
class GGUFMalformedTest {
    @TempDir Path tmp;

    /** A small valid file: metadata of every type (with nested arrays) and three tensors. */
    private byte[] validFile() throws IOException {
        Map<String, GGUFValue> md = GGUFWriterTest.allTypesMetadata();
        GGUFWriter w = new GGUFWriter();
        md.forEach(w::put);
        Random r = new Random(1);
        byte[] a = new byte[4 * 8], b = new byte[34 * 2], c = new byte[2 * 6];
        r.nextBytes(a);
        r.nextBytes(b);
        r.nextBytes(c);
        w.addTensor("alpha", GGMLType.F32, new long[]{8}, a);
        w.addTensor("beta", GGMLType.Q8_0, new long[]{32, 2}, b);
        w.addTensor("gamma", GGMLType.F16, new long[]{3, 2}, c);
        Path p = tmp.resolve("valid.gguf");
        w.write(p);
        return Files.readAllBytes(p);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** Opens; returns null on success (after touching everything), the exception on a format error. */
    private static GGUFFormatException tryOpen(Path p) {
        return check(p, () -> GGUFFile.open(p));
    }

    /** Parses in-memory bytes through the same code path (no file, no mapping: fast). */
    private static GGUFFormatException tryParse(Path name, byte[] bytes) {
        return check(name, () -> GGUFFile.parse(name, java.lang.foreign.Arena.ofConfined(), java.lang.foreign.MemorySegment.ofArray(bytes)));
    }

    private interface Opener { GGUFFile open() throws IOException; }

    private static GGUFFormatException check(Path p, Opener opener) {
        try (GGUFFile f = opener.open()) {
            for (var e : f.metadata().entries().entrySet()) assertNotNull(e.getValue().toString());
            for (GGUFTensorInfo t : f.tensors()) {
                var seg = f.tensorData(t);
                if (seg.byteSize() > 0) seg.get(ValueLayout.JAVA_BYTE, seg.byteSize() - 1);
            }
            return null;
        } catch (GGUFFormatException e) {
            assertTrue(e.getMessage().contains(p.toString()), "message names the file: " + e.getMessage());
            // the reader's last-resort wrapping of unchecked exceptions must not be what caught the problem
            assertNull(e.getCause(), () -> "unchecked exception inside the reader: " + e.getCause());
            return e;
        } catch (Throwable t) {
            throw new AssertionError(p + ": expected GGUFFormatException or success, got " + t, t);
        }
    }

    private void expectError(String name, byte[] bytes, String... parts) throws IOException {
        Path p = write(name, bytes);
        GGUFFormatException e = tryOpen(p);
        assertNotNull(e, name + ": expected a GGUFFormatException");
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), name + ": message '" + e.getMessage() + "' should contain '" + part + "'");
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("pattern not found");
    }

    /** Position right after the length-prefixed string s (first occurrence). */
    private static int after(byte[] file, String s) {
        byte[] sb = s.getBytes(StandardCharsets.UTF_8);
        byte[] pat = ByteBuffer.allocate(8 + sb.length).order(ByteOrder.LITTLE_ENDIAN).putLong(sb.length).put(sb).array();
        return indexOf(file, pat) + pat.length;
    }

    private static byte[] patchI32(byte[] f, int pos, int v) {
        byte[] c = f.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putInt(pos, v);
        return c;
    }

    private static byte[] patchI64(byte[] f, int pos, long v) {
        byte[] c = f.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(pos, v);
        return c;
    }

    @Test
    void validBaseFileOpens() throws IOException {
        assertNull(tryOpen(write("base.gguf", validFile())));
    }

    @Test
    void targetedCorruptions() throws IOException {
        byte[] f = validFile();
        expectError("magic.gguf", patchI32(f, 0, 0x12345678), "bad magic");
        expectError("v1.gguf", patchI32(f, 4, 1), "unsupported GGUF version 1");
        expectError("v99.gguf", patchI32(f, 4, 99), "unsupported GGUF version 99");
        expectError("bigendian.gguf", patchI32(f, 4, 0x03000000), "big-endian");
        expectError("tcount.gguf", patchI64(f, 8, Long.MIN_VALUE), "tensor_count 9223372036854775808", "impossible");
        expectError("tcount2.gguf", patchI64(f, 8, Long.MAX_VALUE), "tensor_count", "impossible");
        expectError("kvcount.gguf", patchI64(f, 16, -1L), "metadata_kv_count 18446744073709551615", "impossible");
        expectError("keylen.gguf", patchI64(f, 24, 1L << 62), "metadata key #0", "has length");
        expectError("keylen2.gguf", patchI64(f, 24, -5L), "metadata key #0", "has length");
        int typePos = after(f, "general.architecture");
        expectError("vtype.gguf", patchI32(f, typePos, 13), "'general.architecture'", "unknown value type 13");
        expectError("vtype2.gguf", patchI32(f, typePos, -1), "unknown value type -1");
        int strLenPos = typePos + 4;
        expectError("strlen.gguf", patchI64(f, strLenPos, Long.MAX_VALUE), "metadata 'general.architecture'", "has length");
        int boolPos = after(f, "bool.t") + 4;
        byte[] badBool = f.clone();
        badBool[boolPos] = 2;
        expectError("bool.gguf", badBool, "'bool.t'", "expected 0 or 1");
        int arrPos = after(f, "a.u64") + 4; // element type, then count
        expectError("arrtype.gguf", patchI32(f, arrPos, 42), "'a.u64'", "unknown type 42");
        expectError("arrlen.gguf", patchI64(f, arrPos + 4, 1L << 60), "'a.u64'", "claims");
        expectError("arrlen2.gguf", patchI64(f, arrPos + 4, -1L), "'a.u64'", "claims");

        int beta = after(f, "beta"); // n_dims, ne[0], ne[1], type, offset
        expectError("ndims.gguf", patchI32(f, beta, 5), "tensor 'beta'", "n_dims = 5");
        expectError("ndims0.gguf", patchI32(f, beta, 0), "tensor 'beta'", "n_dims = 0");
        expectError("ne0.gguf", patchI64(f, beta + 4 + 8, 0), "tensor 'beta'", "ne[1] = 0");
        expectError("neneg.gguf", patchI64(f, beta + 4, -32), "tensor 'beta'", "ne[0] = 18446744073709551584");
        byte[] huge = patchI64(patchI64(f, beta + 4, 1L << 35), beta + 12, 1L << 35);
        expectError("overflow.gguf", huge, "tensor 'beta'", "absurd element count");
        expectError("blk.gguf", patchI64(f, beta + 4, 16), "tensor 'beta'", "multiple of the block size 32");
        expectError("gtype.gguf", patchI32(f, beta + 20, 99), "tensor 'beta'", "unknown ggml type 99");
        expectError("gtype2.gguf", patchI32(f, beta + 20, 4), "tensor 'beta'", "unknown ggml type 4");
        expectError("gtype3.gguf", patchI32(f, beta + 20, -7), "tensor 'beta'", "unknown ggml type");
        int off = beta + 24;
        long betaOffset = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong(off);
        expectError("misaligned.gguf", patchI64(f, off, betaOffset + 4), "tensor 'beta'", "multiple of the alignment 32");
        expectError("outside.gguf", patchI64(f, off, 1L << 40), "tensor 'beta'", "truncated file or bad offset");
        expectError("outside2.gguf", patchI64(f, off, Long.MAX_VALUE - 31), "tensor 'beta'");
        expectError("negoff.gguf", patchI64(f, off, -32), "tensor 'beta'", "alignment");
        expectError("overlap.gguf", patchI64(f, off, 0), "overlaps", "'alpha'");

        expectError("trunc-data.gguf", Arrays.copyOf(f, f.length - 40), "tensor 'gamma'", "truncated");
        expectError("trunc-hdr.gguf", Arrays.copyOf(f, 100), "truncated");
        expectError("trunc-12.gguf", Arrays.copyOf(f, 12), "truncated", "24-byte");
        expectError("trunc-2.gguf", Arrays.copyOf(f, 2), "truncated");
        expectError("empty.gguf", new byte[0], "empty");
        expectError("text.gguf", "hello, this is not a model at all\n".getBytes(StandardCharsets.US_ASCII), "bad magic");
        expectError("x.gguf", new byte[]{'x'}, "bad magic");
        byte[] st = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(20).put("{\"a\":{}}".getBytes()).array();
        expectError("model.safetensors", st, "bad magic", "safetensors");
    }

    @Test
    void bogusPaths() throws IOException {
        GGUFFormatException e = assertThrows(GGUFFormatException.class, () -> GGUFFile.open(tmp.resolve("missing.gguf")));
        assertTrue(e.getMessage().contains("no such file") && e.getMessage().contains("missing.gguf"), e.getMessage());
        Path dir = Files.createDirectory(tmp.resolve("adir.gguf"));
        e = assertThrows(GGUFFormatException.class, () -> GGUFFile.open(dir));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    /** Hand-built file whose only value is an array nested {@code depth} levels deep. */
    private static byte[] nestedArrayFile(int depth) {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GGUFFile.MAGIC).putInt(3).putLong(0).putLong(1);
        b.putLong(4).put("deep".getBytes(StandardCharsets.US_ASCII)).putInt(GGUFValueType.ARRAY.id());
        for (int i = 0; i < depth; i++) b.putInt(GGUFValueType.ARRAY.id()).putLong(1);
        b.putInt(GGUFValueType.INT32.id()).putLong(1).putInt(7);
        return Arrays.copyOf(b.array(), b.position());
    }

    @Test
    void nestingDepth() throws IOException {
        Path ok = write("nest-ok.gguf", nestedArrayFile(8));
        try (GGUFFile f = GGUFFile.open(ok)) {
            GGUFValue v = f.metadata().get("deep");
            for (int i = 0; i < 8; i++) v = ((GGUFValue[]) v.value())[0];
            assertArrayEquals(new int[]{7}, (int[]) v.value());
        }
        expectError("nest-deep.gguf", nestedArrayFile(9), "'deep'", "nests arrays more than 8 deep");
        expectError("nest-deeper.gguf", nestedArrayFile(300), "nests arrays");
    }

    /** Truncation at every byte of the header and many of the data; hundreds of random byte corruptions. */
    @Test
    void mutationsNeverLeakOtherExceptions() throws IOException {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            byte[] f = validFile();
            int dataOffset, dataEnd;
            try (GGUFFile g = GGUFFile.open(write("v.gguf", f))) {
                dataOffset = (int) g.dataOffset();
                GGUFTensorInfo last = g.tensors().getLast();
                dataEnd = (int) (dataOffset + last.offset() + last.byteSize());
            }
            assertTrue(dataEnd < f.length, "base file ends with padding");
            Path p = tmp.resolve("mut.gguf");
            int rejected = 0, accepted = 0;
            // the zero padding after the last tensor may be cut (like llama.cpp, only tensor bytes must be present)
            for (int len = 0; len < dataEnd; len += len < dataOffset + 8 ? 1 : 7) {
                GGUFFormatException e;
                if (len < 24 || len % 17 == 0) {
                    Files.write(p, Arrays.copyOf(f, len));
                    e = tryOpen(p);
                } else {
                    e = tryParse(p, Arrays.copyOf(f, len));
                }
                assertNotNull(e, "truncated to " + len + " of " + f.length + " bytes must fail");
                assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("empty")
                        || e.getMessage().contains("remain"), "len " + len + ": " + e.getMessage());
                rejected++;
            }
            Random r = new Random(42);
            long[] interesting = {0, 1, -1, 0x7f, 0x80, 0xff, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32, 1L << 31, 63, 64, 13, 31};
            for (int iter = 0; iter < 1500; iter++) {
                byte[] m = f.clone();
                int kind = r.nextInt(4);
                int edits = 1 + r.nextInt(3);
                for (int k = 0; k < edits; k++) {
                    int pos = r.nextInt(dataOffset);
                    switch (kind) {
                        case 0 -> m[pos] = (byte) r.nextInt(256);                      // random byte
                        case 1 -> m[pos] ^= (byte) (1 << r.nextInt(8));                 // bit flip
                        case 2 -> {                                                     // interesting 64-bit value
                            long v = interesting[r.nextInt(interesting.length)];
                            for (int i = 0; i < 8 && pos + i < m.length; i++) m[pos + i] = (byte) (v >>> (8 * i));
                        }
                        default -> {                                                    // interesting 32-bit value
                            long v = interesting[r.nextInt(interesting.length)];
                            for (int i = 0; i < 4 && pos + i < m.length; i++) m[pos + i] = (byte) (v >>> (8 * i));
                        }
                    }
                }
                if (r.nextInt(10) == 0) m = Arrays.copyOf(m, r.nextInt(m.length));
                GGUFFormatException e;
                if (iter % 50 == 0) {
                    Files.write(p, m);
                    e = tryOpen(p);
                } else {
                    e = tryParse(p, m);
                }
                if (e == null) accepted++;
                else rejected++;
            }
            // mutating the bytes of string contents or numeric values often still yields a valid file
            System.out.println("GGUF mutations: rejected " + rejected + ", accepted " + accepted);
            assertTrue(rejected > 1000 && accepted > 10, "rejected " + rejected + ", accepted " + accepted);
        });
    }
}
