package io.jlm.models.synth;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.Kernels;
import io.jlm.core.quant.WeightKernel;
import io.jlm.core.tensor.GGMLType;
import io.jlm.formats.gguf.GGUFWriter;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes random-weight GGUF models of a given shape and weight type (for tests and benchmarks).
 * Weights are uniform with the standard deviation of a typical initialisation, deterministic for a seed,
 * generated and quantized row by row straight into the memory-mapped output (no model-sized heap buffers).
 * The vocabulary is a synthetic SentencePiece-style one: {@code <unk> <s> </s>}, 256 byte tokens, then pieces.
 */
public final class SyntheticModel {

    /** Shape and type of a synthetic model. {@code arch} is {@code llama} or {@code qwen2}. */
    public record Spec(String arch, int dim, int layers, int heads, int kvHeads, int ffn, int vocab, int context,
                       GGMLType type, long seed) {
        public Spec {
            if (arch == null || type == null) {
                throw new IllegalArgumentException("synth: architecture and weight type must not be null");
            }
            if (!arch.equals("llama") && !arch.equals("qwen2")) {
                throw new IllegalArgumentException("synth: architecture '" + arch + "' is not supported; expected llama or qwen2");
            }
            if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || ffn <= 0 || context <= 0) {
                throw new IllegalArgumentException("synth: dim, layers, heads, kv-heads, ffn and context must be positive");
            }
            if (dim % heads != 0) throw new IllegalArgumentException("synth: dim " + dim + " is not a multiple of heads " + heads);
            if (heads % kvHeads != 0) throw new IllegalArgumentException("synth: heads " + heads + " is not a multiple of kv-heads " + kvHeads);
            if ((dim / heads) % 2 != 0) throw new IllegalArgumentException("synth: head dimension " + (dim / heads) + " must be even (RoPE)");
            if (vocab < 259 + 1) throw new IllegalArgumentException("synth: vocab " + vocab + " is too small; expected >= 260 (3 special + 256 byte tokens + pieces)");
            if (!Kernels.isSupported(type)) {
                throw new IllegalArgumentException("synth: weight type " + type + " is not supported; supported: "
                        + java.util.Arrays.stream(GGMLType.values()).filter(Kernels::isSupported).map(Enum::name)
                        .collect(java.util.stream.Collectors.joining(", ")));
            }
            int bs = type.blockSize();
            if (dim % bs != 0 || ffn % bs != 0) {
                throw new IllegalArgumentException("synth: type " + type + " needs dim and ffn to be multiples of " + bs
                        + " (got dim " + dim + ", ffn " + ffn + ")");
            }
        }

        /** The 1B-class benchmark shape of the performance issue: dim 2048, 16 layers, 32/8 heads, FFN 5632, vocab 32000. */
        public static Spec oneB(GGMLType type) {
            return new Spec("llama", 2048, 16, 32, 8, 5632, 32000, 4096, type, 42);
        }

        public long parameters() {
            int kvDim = dim / heads * kvHeads;
            long perLayer = 2L * dim + (long) dim * dim * 2 + 2L * dim * kvDim + 3L * dim * ffn;
            return 2L * vocab * dim + dim + layers * perLayer;
        }
    }

    private SyntheticModel() {}

    /** Writes the model to {@code out} (atomically) using {@code pool} to generate and quantize rows in parallel. */
    public static void write(Spec s, Path out, ThreadPool pool) throws IOException {
        GGUFWriter w = new GGUFWriter();
        String a = s.arch();
        w.putString("general.architecture", a);
        w.putString("general.name", "jlm-synth-" + a + "-" + s.dim() + "x" + s.layers() + "-" + s.type().name().toLowerCase());
        w.putU32(a + ".context_length", s.context());
        w.putU32(a + ".embedding_length", s.dim());
        w.putU32(a + ".block_count", s.layers());
        w.putU32(a + ".feed_forward_length", s.ffn());
        w.putU32(a + ".attention.head_count", s.heads());
        w.putU32(a + ".attention.head_count_kv", s.kvHeads());
        w.putF32(a + ".rope.freq_base", 10000f);
        w.putF32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
        w.putU32(a + ".rope.dimension_count", s.dim() / s.heads());
        w.putU32("general.file_type", fileType(s.type()));
        w.putU32("general.quantization_version", 2);
        putVocabulary(w, s.vocab());

        int kvDim = s.dim() / s.heads() * s.kvHeads();
        int[] index = {0};
        matrix(w, s, pool, "token_embd.weight", s.dim(), s.vocab(), 0.02f, index);
        norm(w, s, "output_norm.weight", s.dim(), index);
        matrix(w, s, pool, "output.weight", s.dim(), s.vocab(), 0.02f, index);
        float outStd = 0.02f / (float) Math.sqrt(2.0 * s.layers());
        for (int l = 0; l < s.layers(); l++) {
            String p = "blk." + l + ".";
            norm(w, s, p + "attn_norm.weight", s.dim(), index);
            matrix(w, s, pool, p + "attn_q.weight", s.dim(), s.dim(), 0.02f, index);
            matrix(w, s, pool, p + "attn_k.weight", s.dim(), kvDim, 0.02f, index);
            matrix(w, s, pool, p + "attn_v.weight", s.dim(), kvDim, 0.02f, index);
            if (a.equals("qwen2")) {
                bias(w, s, p + "attn_q.bias", s.dim(), index);
                bias(w, s, p + "attn_k.bias", kvDim, index);
                bias(w, s, p + "attn_v.bias", kvDim, index);
            }
            matrix(w, s, pool, p + "attn_output.weight", s.dim(), s.dim(), outStd, index);
            norm(w, s, p + "ffn_norm.weight", s.dim(), index);
            matrix(w, s, pool, p + "ffn_gate.weight", s.dim(), s.ffn(), 0.02f, index);
            matrix(w, s, pool, p + "ffn_up.weight", s.dim(), s.ffn(), 0.02f, index);
            matrix(w, s, pool, p + "ffn_down.weight", s.ffn(), s.dim(), outStd, index);
        }
        w.write(out);
    }

    /** llama.cpp's {@code general.file_type} (LLAMA_FTYPE_*) for an all-one-type model. */
    static int fileType(GGMLType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q2_K -> 10;
            case Q3_K -> 12; // Q3_K_M
            case Q4_K -> 15; // Q4_K_M
            case Q5_K -> 17; // Q5_K_M
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no llama.cpp file type for " + t);
        };
    }

    private static void putVocabulary(GGUFWriter w, int vocab) {
        String[] tokens = new String[vocab];
        float[] scores = new float[vocab];
        int[] types = new int[vocab];
        tokens[0] = "<unk>";
        types[0] = 2;
        tokens[1] = "<s>";
        types[1] = 3;
        tokens[2] = "</s>";
        types[2] = 3;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = 6;
        }
        for (int i = 259; i < vocab; i++) {
            int k = i - 259;
            tokens[i] = (k % 2 == 0 ? "\u2581" : "") + word(k / 2);
            types[i] = 1;
            scores[i] = -k;
        }
        w.putString("tokenizer.ggml.model", "llama");
        w.putStrings("tokenizer.ggml.tokens", tokens);
        w.putF32s("tokenizer.ggml.scores", scores);
        w.putI32s("tokenizer.ggml.token_type", types);
        w.putU32("tokenizer.ggml.bos_token_id", 1);
        w.putU32("tokenizer.ggml.eos_token_id", 2);
        w.putU32("tokenizer.ggml.unknown_token_id", 0);
    }

    /** A distinct lowercase word for every index: a, b, ..., z, aa, ab, ... */
    private static String word(int k) {
        StringBuilder sb = new StringBuilder();
        k++;
        while (k > 0) {
            k--;
            sb.append((char) ('a' + k % 26));
            k /= 26;
        }
        return sb.reverse().toString();
    }

    /** A norm weight: 1 +- 0.1, uniform. */
    private static void norm(GGUFWriter w, Spec s, String name, int n, int[] index) {
        vector(w, s, name, n, 1f, 0.1f, index);
    }

    /** A bias: 0 +- 0.02, uniform. */
    private static void bias(GGUFWriter w, Spec s, String name, int n, int[] index) {
        vector(w, s, name, n, 0f, 0.02f, index);
    }

    /** A 1-d F32 tensor of {@code center + amplitude * u}, u uniform in [-1, 1), deterministic per seed and tensor. */
    private static void vector(GGUFWriter w, Spec s, String name, int n, float center, float amplitude, int[] index) {
        float[] v = new float[n];
        SplittableRandom r = new SplittableRandom(s.seed() * 1_000_003L + index[0]++);
        for (int i = 0; i < n; i++) v[i] = center + amplitude * (float) (r.nextDouble() * 2 - 1);
        w.addTensor(name, new long[]{n}, v);
    }

    /** A [cols x rows] (ne0 = cols) matrix, rows generated and quantized in parallel straight into the output. */
    private static void matrix(GGUFWriter w, Spec s, ThreadPool pool, String name, int cols, int rows, float std, int[] index) {
        GGMLType type = s.type();
        long seed = s.seed() * 1_000_003L + index[0]++;
        long rowBytes = type.byteSize(cols);
        float amp = std * (float) Math.sqrt(3.0);
        WeightKernel kernel = Kernels.of(type);
        w.addTensor(name, type, new long[]{cols, rows}, (MemorySegment dst) -> {
            float[][] buffers = new float[pool.threads()][cols];
            pool.parallelFor(rows, (from, to, thread) -> {
                float[] row = buffers[thread];
                for (int r = from; r < to; r++) {
                    SplittableRandom rnd = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (r + 1)));
                    for (int i = 0; i < cols; i++) row[i] = amp * (float) (rnd.nextDouble() * 2 - 1);
                    kernel.quantize(row, 0, cols, dst, r * rowBytes);
                }
            });
        });
    }
}
