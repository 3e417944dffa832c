package io.jlm.models;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.Kernels;
import io.jlm.core.quant.WeightKernel;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.formats.gguf.GGUFTensorInfo;
import io.jlm.models.TransformerReference.Hp;
import io.jlm.models.synth.SyntheticModel;
import io.jlm.models.synth.SyntheticModel.Spec;
import io.jlm.models.transformer.TransformerModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models written by {@link SyntheticModel} for every supported weight type, loaded with {@link Models#load} and run
 * against the independent float64 {@link TransformerReference} evaluated on the weights dequantized from the written
 * file; plus the file's metadata and tensor types, the quantization error against the unquantized weights (the same
 * spec written as F32), determinism, and {@link Spec} validation.
 */
class SyntheticModelTest {
    private static final ThreadPool POOL = new ThreadPool(2);
    private static final int DIM = 256, LAYERS = 2, HEADS = 4, KV_HEADS = 2, FFN = 512, VOCAB = 300, CONTEXT = 64;
    private static final long SEED = 1234;
    /** A ~10-token prompt touching special, byte and piece tokens up to the last id. */
    private static final int[] PROMPT = {1, 259, 42, VOCAB - 1, 7, 260, 3, 150, 299, 17, 42};

    @TempDir
    static Path dir;

    /** Written files by "arch/type", so that the tests of one (arch, type) write it once. */
    private static final Map<String, Path> FILES = new ConcurrentHashMap<>();
    /** The unquantized weights by arch (the spec written as F32). */
    private static final Map<String, Map<String, float[]>> F32_WEIGHTS = new ConcurrentHashMap<>();

    @AfterAll
    static void closePool() { POOL.close(); }

    static Spec spec(String arch, GGMLType type) {
        return new Spec(arch, DIM, LAYERS, HEADS, KV_HEADS, FFN, VOCAB, CONTEXT, type, SEED);
    }

    static Path file(String arch, GGMLType type) {
        return FILES.computeIfAbsent(arch + "/" + type, k -> {
            Path p = dir.resolve(arch + "-" + type + ".gguf");
            try {
                SyntheticModel.write(spec(arch, type), p, POOL);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return p;
        });
    }

    static Map<String, float[]> f32Weights(String arch) {
        return F32_WEIGHTS.computeIfAbsent(arch, a -> read(file(a, GGMLType.F32)).weights());
    }

    /** A written file's contents: dequantized weights (row-major [ne1][ne0]), tensor types and shapes, metadata. */
    record Contents(Map<String, float[]> weights, Map<String, GGMLType> types, Map<String, long[]> shapes,
                    GGUFMetadata metadata) {}

    /** Reads every tensor of {@code path} and dequantizes it row by row with the type's kernel. */
    static Contents read(Path path) {
        try (GGUFFile f = GGUFFile.open(path)) {
            Map<String, float[]> w = new LinkedHashMap<>();
            Map<String, GGMLType> types = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (GGUFTensorInfo t : f.tensors()) {
                long[] shape = t.shape();
                int cols = (int) shape[0];
                int rows = shape.length > 1 ? (int) shape[1] : 1;
                for (int i = 2; i < shape.length; i++) rows *= (int) shape[i];
                MemorySegment seg = f.tensorData(t);
                WeightKernel k = Kernels.of(t.type());
                // rows are whole blocks stored back to back: one call covers the tensor (and warms up fast)
                assertEquals(t.type().byteSize((long) rows * cols), rows * t.type().byteSize(cols), t.name());
                float[] a = new float[rows * cols];
                k.dequantize(seg, 0, a, 0, rows * cols);
                w.put(t.name(), a);
                types.put(t.name(), t.type());
                shapes.put(t.name(), shape.clone());
            }
            return new Contents(w, types, shapes, f.metadata());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Hp hp(String arch) {
        int hd = DIM / HEADS;
        return new Hp(arch, DIM, LAYERS, HEADS, KV_HEADS, hd, FFN, VOCAB, hd, 10000f, 1e-5f, 0, 0, 0, false);
    }

    static final GGMLType[] ALL_TYPES = {GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q8_0, GGMLType.Q4_0,
            GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K,
            GGMLType.Q6_K};

    /** Every weight type with llama, and a few (one of each family) with qwen2. */
    static Stream<Arguments> cases() {
        Stream<Arguments> llama = Arrays.stream(ALL_TYPES).map(t -> Arguments.of("llama", t));
        Stream<Arguments> qwen2 = Stream.of(GGMLType.F16, GGMLType.Q8_0, GGMLType.Q3_K)
                .map(t -> Arguments.of("qwen2", t));
        return Stream.concat(llama, qwen2);
    }

    @Test
    void coversEverySupportedWeightType() {
        for (GGMLType t : GGMLType.values()) {
            boolean listed = Arrays.asList(ALL_TYPES).contains(t);
            assertEquals(Kernels.isSupported(t), listed, t + ": supported by the kernels but not tested here (or vice versa)");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void fileHasRequestedShapeTypesAndMetadata(String arch, GGMLType type) {
        Contents c = read(file(arch, type));
        GGUFMetadata md = c.metadata();
        assertEquals(arch, md.getString("general.architecture"));
        assertEquals("jlm-synth-" + arch + "-256x2-" + type.name().toLowerCase(), md.getString("general.name"));
        assertEquals(DIM, md.requireInt(arch + ".embedding_length"));
        assertEquals(LAYERS, md.requireInt(arch + ".block_count"));
        assertEquals(HEADS, md.requireInt(arch + ".attention.head_count"));
        assertEquals(KV_HEADS, md.requireInt(arch + ".attention.head_count_kv"));
        assertEquals(FFN, md.requireInt(arch + ".feed_forward_length"));
        assertEquals(CONTEXT, md.requireInt(arch + ".context_length"));
        assertEquals(DIM / HEADS, md.requireInt(arch + ".rope.dimension_count"));
        // llama.cpp's LLAMA_FTYPE values (llama.h), written independently of SyntheticModel.fileType
        int ftype = switch (type) {
            case F32 -> 0; case F16 -> 1; case Q4_0 -> 2; case Q4_1 -> 3; case Q8_0 -> 7; case Q5_0 -> 8;
            case Q5_1 -> 9; case Q2_K -> 10; case Q3_K -> 12; case Q4_K -> 15; case Q5_K -> 17; case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new AssertionError(type);
        };
        assertEquals(ftype, md.requireInt("general.file_type"));
        String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
        assertNotNull(tokens);
        assertEquals(VOCAB, tokens.length);
        assertEquals("<0x41>", tokens[3 + 0x41]);
        assertEquals(VOCAB, md.getFloatArray("tokenizer.ggml.scores").length);

        int kvDim = DIM / HEADS * KV_HEADS;
        Map<String, long[]> expected = new LinkedHashMap<>();
        expected.put("token_embd.weight", new long[]{DIM, VOCAB});
        expected.put("output_norm.weight", new long[]{DIM});
        expected.put("output.weight", new long[]{DIM, VOCAB});
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            expected.put(p + "attn_norm.weight", new long[]{DIM});
            expected.put(p + "attn_q.weight", new long[]{DIM, DIM});
            expected.put(p + "attn_k.weight", new long[]{DIM, kvDim});
            expected.put(p + "attn_v.weight", new long[]{DIM, kvDim});
            if (arch.equals("qwen2")) {
                expected.put(p + "attn_q.bias", new long[]{DIM});
                expected.put(p + "attn_k.bias", new long[]{kvDim});
                expected.put(p + "attn_v.bias", new long[]{kvDim});
            }
            expected.put(p + "attn_output.weight", new long[]{DIM, DIM});
            expected.put(p + "ffn_norm.weight", new long[]{DIM});
            expected.put(p + "ffn_gate.weight", new long[]{DIM, FFN});
            expected.put(p + "ffn_up.weight", new long[]{DIM, FFN});
            expected.put(p + "ffn_down.weight", new long[]{FFN, DIM});
        }
        assertEquals(expected.keySet(), c.shapes().keySet(), "tensor names");
        for (var e : expected.entrySet()) {
            String n = e.getKey();
            assertArrayEquals(e.getValue(), c.shapes().get(n), n + " shape");
            // matrices in the requested type; norms and biases stay F32 (as llama.cpp's quantizer keeps 1-D tensors)
            assertEquals(e.getValue().length == 2 ? type : GGMLType.F32, c.types().get(n), n + " type");
        }
    }

    /**
     * [lower, upper] bound of the relative RMS quantization error per type, for weights uniform in [-a, a]. A uniform
     * quantizer with step s has RMS error s / sqrt(12) against the weights' RMS a / sqrt(3), a ratio s / (2a):
     * F16 (11-bit significand) ~ 2^-12 / sqrt(3); BF16 (8-bit) ~ 2^-9 / sqrt(3); Q8_0 s = a/127 -> 0.0039; Q4_0
     * s = a/8 -> 0.0625; Q4_1 s = 2a/15 -> 0.067; Q5_0/Q5_1 half that; Q6_K s = a/32 -> 0.016; Q3_K 0.125; the
     * K-quants' per-sub-block scales/mins (16 or 32 weights) and the ggml-style scale search bring Q2_K/Q4_K/Q5_K
     * below the plain min-max figures (0.33/0.067/0.032). Upper bounds sit ~30% above the values these files give,
     * lower bounds about half of them: data that skipped quantization, or went through a coarser type, fails.
     */
    static double[] errorBounds(GGMLType t) {
        return switch (t) {
            case F32 -> new double[]{0, 0};
            case F16 -> new double[]{1e-4, 2.8e-4};
            case BF16 -> new double[]{8e-4, 2.2e-3};
            case Q8_0 -> new double[]{0.0019, 0.005};
            case Q4_0 -> new double[]{0.033, 0.085};
            case Q4_1 -> new double[]{0.03, 0.08};
            case Q5_0 -> new double[]{0.016, 0.041};
            case Q5_1 -> new double[]{0.015, 0.039};
            case Q2_K -> new double[]{0.12, 0.30};
            case Q3_K -> new double[]{0.06, 0.165};
            case Q4_K -> new double[]{0.027, 0.072};
            case Q5_K -> new double[]{0.014, 0.036};
            case Q6_K -> new double[]{0.0067, 0.018};
            default -> throw new AssertionError(t);
        };
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void quantizationErrorWithinTypeBound(String arch, GGMLType type) {
        Map<String, float[]> exact = f32Weights(arch);
        Map<String, float[]> q = read(file(arch, type)).weights();
        assertEquals(exact.keySet(), q.keySet());
        double err2 = 0, ref2 = 0, worst = 0;
        String worstName = null;
        for (String n : exact.keySet()) {
            float[] a = exact.get(n), b = q.get(n);
            assertEquals(a.length, b.length, n);
            if (n.endsWith("_norm.weight") || n.endsWith(".bias")) {
                assertArrayEquals(a, b, n + ": 1-D tensors are stored as F32 in every type");
                continue;
            }
            double e2 = 0, r2 = 0;
            for (int i = 0; i < a.length; i++) {
                double d = (double) b[i] - a[i];
                assertTrue(Double.isFinite(d), n + "[" + i + "] is not finite");
                e2 += d * d;
                r2 += (double) a[i] * a[i];
            }
            double rel = Math.sqrt(e2 / r2);
            if (rel > worst) {
                worst = rel;
                worstName = n;
            }
            err2 += e2;
            ref2 += r2;
        }
        double rel = Math.sqrt(err2 / ref2);
        double[] bound = errorBounds(type);
        System.out.printf("%s %-5s relative rms quantization error %.3e (worst tensor %s %.3e)%n", arch, type, rel,
                worstName, worst);
        assertTrue(rel >= bound[0] && rel <= bound[1], arch + " " + type + ": relative rms error " + rel
                + " outside [" + bound[0] + ", " + bound[1] + "]");
        assertTrue(worst <= bound[1] * 1.25, arch + " " + type + ": tensor " + worstName + " relative rms error " + worst);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void logitsMatchFloat64ReferenceOfDequantizedWeights(String arch, GGMLType type) throws IOException {
        Path p = file(arch, type);
        Contents c = read(p);
        Map<String, float[]> w = c.weights();
        double[][] ref = TransformerReference.logits(hp(arch), w, PROMPT);
        // float activations for every type: with the 8-bit activations of the integer dot products (Q8_0, Q4_0, Q4_K,
        // Q6_K) a last-bit difference in summation order can move an activation across a rounding boundary (one
        // quantum, ~1e-2 in these logits); QMatrixTest checks those products against exactly rounded activations
        boolean before = QMatrix.useIntegerDots(false);
        try (LanguageModel lm = Models.load(p, POOL)) {
            ModelConfig cfg = lm.config();
            assertEquals(new ModelConfig(arch, cfg.name(), DIM, LAYERS, HEADS, KV_HEADS, DIM / HEADS, FFN, VOCAB, CONTEXT),
                    cfg);
            TransformerModel m = (TransformerModel) lm;
            float[] all = m.forward(m.newState(16, GGMLType.F32), PROMPT, true);
            assertEquals(PROMPT.length * VOCAB, all.length);
            double maxDiff = 0, maxRef = 0;
            for (int pos = 0; pos < PROMPT.length; pos++) {
                for (int i = 0; i < VOCAB; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(all[pos * VOCAB + i] - ref[pos][i]));
                    maxRef = Math.max(maxRef, Math.abs(ref[pos][i]));
                }
            }
            System.out.printf("%s %-5s max |logit - ref| = %.2e (max |ref| %.3f)%n", arch, type, maxDiff, maxRef);
            assertTrue(maxRef > 0.2, "degenerate synthetic model: max |logit| " + maxRef);
            // float32 arithmetic on exactly the dequantized weights agrees to ~3e-7 relative; the bound leaves
            // headroom for summation order while staying far below what a wrong RoPE base (~2e-2) or a dropped
            // block (~0.5) would cause.
            assertTrue(maxDiff <= 1e-4 * maxRef, arch + " " + type + ": max logit difference " + maxDiff
                    + " vs max |logit| " + maxRef);
        } finally {
            QMatrix.useIntegerDots(before);
        }
    }

    @Test
    void sameSeedGivesIdenticalFilesAndOtherSeedsDiffer() throws IOException {
        Spec s = new Spec("llama", 256, 1, 4, 2, 256, 270, 32, GGMLType.Q4_K, 99);
        Path a = dir.resolve("det-a.gguf"), b = dir.resolve("det-b.gguf"), c = dir.resolve("det-c.gguf");
        SyntheticModel.write(s, a, POOL);
        try (ThreadPool one = new ThreadPool(1)) { // the row partition across threads must not matter
            SyntheticModel.write(s, b, one);
        }
        assertEquals(-1, Files.mismatch(a, b), "same spec and seed must give byte-identical files");
        SyntheticModel.write(new Spec("llama", 256, 1, 4, 2, 256, 270, 32, GGMLType.Q4_K, 100), c, POOL);
        assertEquals(Files.size(a), Files.size(c));
        assertNotEquals(-1, Files.mismatch(a, c), "a different seed must give a different file");
        // every matrix differs, not just one
        Map<String, float[]> wa = read(a).weights(), wc = read(c).weights();
        for (String n : wa.keySet()) {
            assertTrue(!Arrays.equals(wa.get(n), wc.get(n)), n + " is the same for seeds 99 and 100");
        }
    }

    @Test
    void weightsLookLikeTheDocumentedInitialisation() {
        // uniform weights with std 0.02 (token_embd, q/k/v, gate/up) and 0.02/sqrt(2 layers) for the output projections
        Map<String, float[]> w = f32Weights("llama");
        assertStd(w.get("token_embd.weight"), 0.02);
        assertStd(w.get("blk.0.attn_q.weight"), 0.02);
        assertStd(w.get("blk.1.ffn_up.weight"), 0.02);
        assertStd(w.get("blk.0.attn_output.weight"), 0.02 / Math.sqrt(2 * LAYERS));
        assertStd(w.get("blk.1.ffn_down.weight"), 0.02 / Math.sqrt(2 * LAYERS));
        for (float v : w.get("output_norm.weight")) assertTrue(v >= 0.9f && v <= 1.1f, "norm weight " + v);
    }

    private static void assertStd(float[] a, double expected) {
        double s2 = 0, mean = 0, max = 0;
        for (float v : a) {
            s2 += (double) v * v;
            mean += v;
            max = Math.max(max, Math.abs(v));
        }
        double std = Math.sqrt(s2 / a.length);
        mean /= a.length;
        assertEquals(expected, std, expected * 0.03, "std");
        assertEquals(0, mean, expected * 0.03, "mean");
        assertTrue(max <= expected * Math.sqrt(3) * 1.0001, "uniform bound exceeded: " + max);
    }

    @Test
    void specRejectsBadShapesWithClearMessages() {
        assertMessage("synth: type Q4_K needs dim and ffn to be multiples of 256 (got dim 128, ffn 512)",
                () -> new Spec("llama", 128, 2, 4, 2, 512, 300, 64, GGMLType.Q4_K, 1));
        assertMessage("synth: type Q8_0 needs dim and ffn to be multiples of 32 (got dim 256, ffn 500)",
                () -> new Spec("llama", 256, 2, 4, 2, 500, 300, 64, GGMLType.Q8_0, 1));
        assertMessage("synth: dim 256 is not a multiple of heads 3",
                () -> new Spec("llama", 256, 2, 3, 1, 512, 300, 64, GGMLType.F32, 1));
        assertMessage("synth: heads 4 is not a multiple of kv-heads 3",
                () -> new Spec("llama", 256, 2, 4, 3, 512, 300, 64, GGMLType.F32, 1));
        assertMessage("synth: head dimension 5 must be even (RoPE)",
                () -> new Spec("llama", 20, 2, 4, 2, 512, 300, 64, GGMLType.F32, 1));
        assertMessage("synth: vocab 100 is too small; expected >= 260 (3 special + 256 byte tokens + pieces)",
                () -> new Spec("llama", 256, 2, 4, 2, 512, 100, 64, GGMLType.F32, 1));
        assertMessage("synth: architecture 'gemma2' is not supported; expected llama or qwen2",
                () -> new Spec("gemma2", 256, 2, 4, 2, 512, 300, 64, GGMLType.F32, 1));
        assertMessage("synth: dim, layers, heads, kv-heads, ffn and context must be positive",
                () -> new Spec("llama", 256, 0, 4, 2, 512, 300, 64, GGMLType.F32, 1));
        assertMessage("synth: dim, layers, heads, kv-heads, ffn and context must be positive",
                () -> new Spec("llama", 256, 2, 4, 2, 512, 300, -1, GGMLType.F32, 1));
        assertMessage("synth: weight type IQ2_XXS is not supported; supported: " + SUPPORTED,
                () -> new Spec("llama", 256, 2, 4, 2, 512, 300, 64, GGMLType.IQ2_XXS, 1));
        assertMessage("synth: weight type Q8_1 is not supported; supported: " + SUPPORTED,
                () -> new Spec("llama", 256, 2, 4, 2, 512, 300, 64, GGMLType.Q8_1, 1));
        assertMessage("synth: architecture and weight type must not be null",
                () -> new Spec(null, 256, 2, 4, 2, 512, 300, 64, GGMLType.F32, 1));
        assertMessage("synth: architecture and weight type must not be null",
                () -> new Spec("llama", 256, 2, 4, 2, 512, 300, 64, null, 1));
        // the smallest valid K-quant shape is accepted
        new Spec("qwen2", 256, 1, 2, 1, 256, 260, 1, GGMLType.Q2_K, 0);
    }

    private static final String SUPPORTED = "F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, BF16";

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertEquals(expected, x.getMessage());
    }
}
