package io.jlm.core.quant;

import io.jlm.core.SharedData;
import io.jlm.core.tensor.GGMLType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The decisive check of the K-quant kernels against llama.cpp: the synth-llama conformance models share their
 * weights across storage types, so every K-quant tensor of synth-llama-q*_k.gguf, dequantized by our kernels,
 * must match the same tensor of synth-llama-f32.gguf within the quantization error. Our own quantizer is also
 * run on the f32 weights and must reach llama.cpp's error level.
 */
class KQuantGGUFConformanceTest {

    /** One tensor of a minimally parsed GGUF v2/v3 file. */
    record Tensor(String name, long[] dims, GGMLType type, long offset) {
        long elements() {
            long n = 1;
            for (long d : dims) n *= d;
            return n;
        }
    }

    record Gguf(MemorySegment seg, Map<String, Tensor> tensors) {}

    static final int QUANT_ROWS = 16;

    static Arena arena;

    @BeforeAll
    static void open() { arena = Arena.ofShared(); }

    @AfterAll
    static void close() { arena.close(); }

    /** Minimal GGUF reader: header, metadata (only general.alignment is kept), tensor infos. */
    static Gguf parse(Path file) throws IOException {
        MemorySegment seg;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        var cur = new Object() {
            long pos = 0;
            int u32() { int v = seg.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos); pos += 4; return v; }
            long u64() { long v = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos); pos += 8; return v; }
            String str() {
                int len = Math.toIntExact(u64());
                byte[] b = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
                pos += len;
                return new String(b, StandardCharsets.UTF_8);
            }
            void skipValue(int type) {
                switch (type) {
                    case 0, 1, 7 -> pos += 1;
                    case 2, 3 -> pos += 2;
                    case 4, 5, 6 -> pos += 4;
                    case 10, 11, 12 -> pos += 8;
                    case 8 -> str();
                    case 9 -> {
                        int et = u32();
                        long count = u64();
                        for (long i = 0; i < count; i++) skipValue(et);
                    }
                    default -> throw new IllegalStateException(file + ": unknown GGUF value type " + type + " at " + pos);
                }
            }
        };
        assertEquals(0x46554747, cur.u32(), file + ": GGUF magic");
        int version = cur.u32();
        assertTrue(version == 2 || version == 3, file + ": GGUF version " + version);
        long nTensors = cur.u64(), nKv = cur.u64();
        long alignment = 32;
        for (long i = 0; i < nKv; i++) {
            String key = cur.str();
            int type = cur.u32();
            if (key.equals("general.alignment") && type == 4) alignment = cur.u32() & 0xFFFFFFFFL;
            else cur.skipValue(type);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (long i = 0; i < nTensors; i++) {
            String name = cur.str();
            int nd = cur.u32();
            long[] dims = new long[nd];
            for (int d = 0; d < nd; d++) dims[d] = cur.u64();
            int typeId = cur.u32();
            GGMLType t = GGMLType.fromId(typeId);
            assertNotNull(t, file + ": tensor " + name + " has unknown type id " + typeId);
            tensors.put(name, new Tensor(name, dims, t, cur.u64()));
        }
        long dataStart = (cur.pos + alignment - 1) / alignment * alignment;
        Map<String, Tensor> abs = new LinkedHashMap<>();
        for (Tensor t : tensors.values()) {
            abs.put(t.name(), new Tensor(t.name(), t.dims(), t.type(), dataStart + t.offset()));
        }
        return new Gguf(seg, abs);
    }

    static float[] readF32(Gguf g, Tensor t) {
        assertEquals(GGMLType.F32, t.type(), t.name());
        float[] out = new float[Math.toIntExact(t.elements())];
        MemorySegment.copy(g.seg(), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), t.offset(), out, 0, out.length);
        return out;
    }

    static final Set<GGMLType> K_TYPES = EnumSet.of(GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K);

    /** Maximum relative RMS error of a llama.cpp-quantized tensor against the f32 weights. */
    static double bound(GGMLType t) {
        return KQuantKernelTest.bound(t);
    }

    @ParameterizedTest
    @ValueSource(strings = {"q2_k", "q3_k", "q4_k", "q5_k", "q6_k"})
    void dequantizedTensorsMatchF32Model(String kind) throws IOException {
        Gguf f32 = parse(SharedData.require("conformance/models/synth-llama-f32.gguf"));
        Gguf q = parse(SharedData.require("conformance/models/synth-llama-" + kind + ".gguf"));
        GGMLType fileType = GGMLType.valueOf(kind.toUpperCase());
        Set<GGMLType> seen = EnumSet.noneOf(GGMLType.class);
        Random r = new Random(5);
        int checked = 0;
        for (Tensor t : q.tensors().values()) {
            if (!K_TYPES.contains(t.type())) continue;
            Tensor ref = f32.tensors().get(t.name());
            assertNotNull(ref, "f32 model lacks " + t.name());
            assertArrayEquals(ref.dims(), t.dims(), t.name() + " dims");
            float[] w = readF32(f32, ref);
            int cols = Math.toIntExact(t.dims()[0]);
            int rows = Math.toIntExact(t.elements() / cols);
            long rowBytes = t.type().byteSize(cols);
            WeightKernel k = KQuantKernelTest.kernel(t.type());
            float[] deq = new float[w.length];
            for (int row = 0; row < rows; row++) {
                k.dequantize(q.seg(), t.offset() + row * rowBytes, deq, row * cols, cols);
            }
            for (int i = 0; i < deq.length; i++) assertTrue(Float.isFinite(deq[i]), t.name() + " element " + i);
            double err = KQuantKernelTest.relRms(w, deq);

            // our quantizer on the same f32 weights (a sample of rows, to keep the test fast): llama.cpp
            // quantized these files with quantize_row_*_ref (no importance matrix), and our reference
            // quantizer reproduces it byte for byte
            int step = Math.max(1, rows / QUANT_ROWS);
            int qRows = 0;
            long sameBytes = 0, totalBytes = 0;
            double num = 0, den = 0;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment qs = a.allocate(rowBytes);
                float[] mine = new float[cols];
                for (int row = 0; row < rows; row += step, qRows++) {
                    k.quantize(w, row * cols, cols, qs, 0);
                    k.dequantize(qs, 0, mine, 0, cols);
                    for (int i = 0; i < cols; i++) {
                        double dd = (double) mine[i] - w[row * cols + i];
                        num += dd * dd;
                        den += (double) w[row * cols + i] * w[row * cols + i];
                    }
                    long rowOff = t.offset() + row * rowBytes;
                    for (long i = 0; i < rowBytes; i++) {
                        if (qs.get(ValueLayout.JAVA_BYTE, i) == q.seg().get(ValueLayout.JAVA_BYTE, rowOff + i)) sameBytes++;
                    }
                    totalBytes += rowBytes;
                }
            }
            double myErr = Math.sqrt(num / den);
            System.out.printf("%s %-24s %-5s %4dx%-4d rel RMS vs f32: llama.cpp %.4f, ours %.4f (%d rows); identical bytes %.2f%%%n",
                    kind, t.name(), t.type(), cols, rows, err, myErr, qRows, 100.0 * sameBytes / totalBytes);
            assertTrue(err < bound(t.type()), t.name() + " (" + t.type() + ") dequantized vs f32 rel RMS " + err);
            assertTrue(myErr < err * 1.05 + 1e-3, t.name() + ": our quantizer error " + myErr + " vs llama.cpp " + err);
            assertEquals(totalBytes, sameBytes, t.name() + ": our quantizer's bytes differ from llama.cpp's");

            // dot on real rows: equals the sum over the dequantized row
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) x[i] = (float) r.nextGaussian();
            for (int row = 0; row < rows; row += Math.max(1, rows / 17)) {
                double ref2 = 0, mag = 0;
                for (int i = 0; i < cols; i++) {
                    ref2 += (double) deq[row * cols + i] * x[i];
                    mag += Math.abs((double) deq[row * cols + i] * x[i]);
                }
                assertEquals(ref2, k.dot(q.seg(), t.offset() + row * rowBytes, x, 0, cols), 1e-5 * mag, t.name() + " row " + row);
            }
            seen.add(t.type());
            checked++;
        }
        assertTrue(seen.contains(fileType), kind + " file has no " + fileType + " tensor; saw " + seen);
        assertTrue(checked > 0);
    }
}
