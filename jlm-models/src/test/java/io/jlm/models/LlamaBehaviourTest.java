package io.jlm.models;

import io.jlm.core.SharedData;
import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.models.transformer.TransformerModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generation, batching and state behaviour on the real llama models of the conformance set. */
class LlamaBehaviourTest {
    private static final ThreadPool POOL = new ThreadPool(2);

    @AfterAll
    static void closePool() { POOL.close(); }

    /** stories260K greedy from BOS, 200 steps, must reproduce llama2.c's text exactly. */
    @Test
    void stories260kGreedyMatchesLlama2c() throws IOException {
        Path model = SharedData.require("conformance/models/stories260K-f32.gguf");
        Path refFile = SharedData.require("conformance/refs/stories260K-llama2c-greedy200.txt");
        String ref = Files.readString(refFile, StandardCharsets.UTF_8);
        // llama2.c prints its config tuple on the first line, then the generated text, then a newline
        String expected = ref.substring(ref.indexOf('\n') + 1);
        if (expected.endsWith("\n")) expected = expected.substring(0, expected.length() - 1);

        String[] vocab;
        try (GGUFFile f = GGUFFile.open(model)) {
            vocab = f.metadata().getStringArray("tokenizer.ggml.tokens");
        }
        try (LanguageModel m = Models.load(model, POOL)) {
            // llama2.c computes in float32 throughout: use an F32 cache
            var st = ((TransformerModel) m).newState(256, GGMLType.F32);
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            int token = 1;
            for (int pos = 0; pos < 200; pos++) {
                float[] logits = m.forward(st, new int[]{token}, false);
                int next = ConformanceTest.argmax(logits, 0, logits.length);
                if (next == 1) break; // llama2.c stops at BOS
                byte[] piece = piece(vocab[next]);
                int from = token == 1 && piece.length > 0 && piece[0] == ' ' ? 1 : 0; // llama2.c strips it after BOS
                text.write(piece, from, piece.length - from);
                token = next;
            }
            assertEquals(expected, text.toString(StandardCharsets.UTF_8));
        }
    }

    /** SentencePiece piece -> bytes as llama2.c decodes it: "▁" is a space, "<0xXX>" a raw byte. */
    private static byte[] piece(String p) {
        if (p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")) {
            return new byte[]{(byte) Integer.parseInt(p.substring(3, 5), 16)};
        }
        return p.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
    }

    private static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 400, 428, 395, 392, 412, 444,
            426, 346, 397, 355, 267, 352, 379, 269, 337, 322, 265, 298, 295, 418};

    /**
     * One batched prefill gives the same logits as feeding the tokens one by one, and as two smaller batches.
     * With an F32 cache within 1e-4 (only the summation order of matvec and matmul kernels differs); with the
     * F16 cache an ulp-level difference can flip the F16 rounding of a cached value (one F16 ulp is ~5e-4 relative) and
     * the flips compound over layers and positions; 2e-3 was seen exceeded (2.8e-3 on stories260K at position 18 when the
     * JIT compiled the kernels at a different moment), so the bound there is 1e-2. The Q8_0 model multiplies 8-bit
     * rounded activations (as llama.cpp does): there an F16 flip that moves an activation across a rounding boundary
     * changes it by a whole quantum (1/127 of its block's largest value), and such jumps compound chaotically through
     * this random model (0.015 and 0.04 seen), so it is compared with the F32 cache only, where both paths round
     * the same activations and agree within 1e-4.
     */
    @Test
    void batchedPrefillEqualsTokenByToken() throws IOException {
        for (String name : new String[]{"synth-llama-f32.gguf", "synth-llama-q8_0.gguf", "stories260K-f32.gguf"}) {
            Path model = SharedData.require("conformance/models/" + name);
            try (LanguageModel lm = Models.load(model, POOL)) {
                TransformerModel m = (TransformerModel) lm;
                GGMLType[] caches = name.contains("q8_0") ? new GGMLType[]{GGMLType.F32} : new GGMLType[]{GGMLType.F32, GGMLType.F16};
                for (GGMLType cacheType : caches) {
                    double tol = cacheType == GGMLType.F32 ? 1e-4 : 1e-2;
                    String what = name + " (" + cacheType + " cache)";
                    int v = m.config().vocabSize();
                    ModelState batched = m.newState(64, cacheType);
                    float[] all = m.forward(batched, PROMPT, true);
                    assertEquals(PROMPT.length, batched.position());

                    ModelState single = m.newState(64, cacheType);
                    for (int i = 0; i < PROMPT.length; i++) {
                        float[] l = m.forward(single, new int[]{PROMPT[i]}, false);
                        assertClose(all, i * v, l, 0, v, tol, what + " position " + i);
                    }
                    ModelState split = m.newState(64, cacheType);
                    int cut = 11;
                    float[] first = m.forward(split, Arrays.copyOfRange(PROMPT, 0, cut), true);
                    float[] rest = m.forward(split, Arrays.copyOfRange(PROMPT, cut, PROMPT.length), true);
                    assertClose(all, 0, first, 0, cut * v, tol, what + " first batch");
                    assertClose(all, cut * v, rest, 0, (PROMPT.length - cut) * v, tol, what + " second batch");
                    float[] last = m.forward(m.newState(64, cacheType), PROMPT, false);
                    assertClose(all, (PROMPT.length - 1) * v, last, 0, v, tol, what + " last-row logits");
                }
            }
        }
    }

    /**
     * Decoding one token attends by KV head (the 4 query heads of a GQA group share each chunk of 256 positions); a
     * batched prefill attends per (head, row). Past several chunks both give the same logits: within 1e-4 with a
     * float cache; with a Q8_0 cache within 5e-3, since the keys and values of the two runs come from matmul and
     * matvec (different summation order) and a last-bit difference can flip their 8-bit rounding (1.8e-4 seen).
     */
    @Test
    void groupedDecodeAttentionEqualsPerHeadAttentionOverManyChunks() throws IOException {
        Path model = SharedData.require("conformance/models/synth-llama-f32.gguf");
        int n = 700;
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = 1 + (i * 7919 + 13) % 500;
        for (ThreadPool pool : new ThreadPool[]{POOL, new ThreadPool(1)}) {
            try (LanguageModel lm = Models.load(model, pool)) {
                TransformerModel m = (TransformerModel) lm;
                assertEquals(4, m.config().heads() / m.config().kvHeads(), "the test needs a GQA model");
                int v = m.config().vocabSize();
                for (String policy : new String[]{"f32", "q8_0"}) {
                    io.jlm.models.state.KvPolicy p = io.jlm.models.state.KvPolicy.parse(policy);
                    float[] all = m.forward(m.newState(n + 1, p), tokens, true);
                    ModelState single = m.newState(n + 1, p);
                    for (int i = 0; i < n; i++) {
                        float[] l = m.forward(single, new int[]{tokens[i]}, false);
                        double tol = policy.equals("f32") ? 1e-4 : 5e-3;
                        if (i % 97 == 0 || i >= n - 3) assertClose(all, i * v, l, 0, v, tol, policy + " position " + i);
                    }
                }
            }
            if (pool != POOL) pool.close();
        }
    }

    /** Rewinding and re-running gives the original logits; continuing after a rewind forgets the old suffix. */
    @Test
    void rewindReplaysIdentically() throws IOException {
        Path model = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (LanguageModel lm = Models.load(model, POOL)) {
            TransformerModel m = (TransformerModel) lm;
            int v = m.config().vocabSize();
            ModelState st = m.newState(64, GGMLType.F32);
            float[] all = m.forward(st, PROMPT, true);
            st.rewind(12);
            assertEquals(12, st.position());
            float[] again = m.forward(st, Arrays.copyOfRange(PROMPT, 12, PROMPT.length), true);
            assertClose(all, 12 * v, again, 0, (PROMPT.length - 12) * v, 1e-4, "after rewind");

            // a different continuation after a rewind equals a fresh run of that sequence
            st.rewind(5);
            int[] alt = {PROMPT[0], PROMPT[1], PROMPT[2], PROMPT[3], PROMPT[4], 300, 301, 302};
            float[] altTail = m.forward(st, Arrays.copyOfRange(alt, 5, alt.length), true);
            float[] fresh = m.forward(m.newState(64, GGMLType.F32), alt, true);
            assertClose(fresh, 5 * v, altTail, 0, 3 * v, 1e-4, "alternative continuation");

            assertThrows(IllegalArgumentException.class, () -> st.rewind(9));
            assertThrows(IllegalArgumentException.class, () -> st.rewind(-1));
        }
    }

    @Test
    void contextOverflowAndBadTokensAreRejected() throws IOException {
        Path model = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (LanguageModel m = Models.load(model, POOL)) {
            ModelState st = m.newState(4);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> m.forward(st, new int[]{1, 2, 3, 4, 5}, false));
            assertTrue(e.getMessage().contains("capacity 4"), e.getMessage());
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                    () -> m.forward(st, new int[]{1, 512}, false));
            assertTrue(e2.getMessage().contains("token id 512"), e2.getMessage());
            assertEquals(0, st.position());
            assertTrue(st.bytes() > 0);
        }
    }

    static void assertClose(float[] a, int aOff, float[] b, int bOff, int n, double tol, String what) {
        for (int i = 0; i < n; i++) {
            double d = Math.abs(a[aOff + i] - b[bOff + i]);
            if (!(d <= tol)) {
                throw new AssertionError(what + ": element " + i + " differs: " + a[aOff + i] + " vs " + b[bOff + i]);
            }
        }
    }
}
