package io.jlm.models;

import io.jlm.core.SharedData;
import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.state.KvBlockPool;
import io.jlm.models.state.PagedKvCache;
import io.jlm.models.transformer.TransformerModel;
import io.jlm.models.transformer.TransformerState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link LanguageModel#forwardBatch}: several sequences in one step equal the same sequences run separately. */
class ForwardBatchTest {
    private static final ThreadPool POOL = new ThreadPool(2);
    private static final String[] MODELS = PagedKvModelTest.MODELS;

    @AfterAll
    static void closePool() { POOL.close(); }

    private static int[] prompt(int n, int seed) {
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) t[i] = 3 + (seed * 131 + i * 37) % 250;
        return t;
    }

    /** Several prompts of different lengths packed in one batch: bit-identical to their separate prefills. */
    @Test
    void packedPrefillEqualsSeparatePrefills() throws IOException {
        int[][] prompts = {prompt(5, 1), prompt(9, 2), prompt(13, 3), prompt(2, 4)};
        for (String name : MODELS) {
            Path path = SharedData.require("conformance/models/" + name);
            try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
                for (GGMLType type : new GGMLType[]{GGMLType.F32, GGMLType.F16}) {
                    BitIdentical.assertBitIdentical(() -> {
                        float[][] out = new float[prompts.length][];
                        for (int i = 0; i < prompts.length; i++) out[i] = m.forward(m.newState(32, type), prompts[i], true);
                        return BitIdentical.concat(out);
                    }, () -> {
                        List<BatchEntry> batch = new ArrayList<>();
                        for (int[] p : prompts) batch.add(new BatchEntry(m.newState(32, type), p, true));
                        List<float[]> out = m.forwardBatch(batch);
                        for (int i = 0; i < prompts.length; i++) assertEquals(prompts[i].length, batch.get(i).state().position());
                        return BitIdentical.concat(out.toArray(new float[0][]));
                    }, name + " " + type + " packed prefill");
                }
            }
        }
    }

    /** More rows than one chunk (MAX_BATCH = 512): an entry split across chunks still equals its separate prefill. */
    @Test
    void batchLargerThanOneChunk() throws IOException {
        Path path = SharedData.require("conformance/models/stories260K-f32.gguf");
        int[][] prompts = {prompt(200, 5), prompt(200, 6), prompt(200, 7)};
        try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
            BitIdentical.assertBitIdentical(() -> {
                float[][] out = new float[prompts.length][];
                for (int i = 0; i < prompts.length; i++) out[i] = m.forward(m.newState(256, GGMLType.F16), prompts[i], true);
                return BitIdentical.concat(out);
            }, () -> {
                List<BatchEntry> batch = new ArrayList<>();
                for (int[] p : prompts) batch.add(new BatchEntry(m.newState(256, GGMLType.F16), p, true));
                return BitIdentical.concat(m.forwardBatch(batch).toArray(new float[0][]));
            }, "600 rows");
        }
    }

    /**
     * Decode rows and prefill rows of sequences at different positions, on paged and contiguous caches, in one batch.
     * With batchInvariant on, bit-identical to running each sequence alone; in the default mode (one-row products use
     * the matrix-vector kernel) equal within float rounding.
     */
    @Test
    void mixedDecodeAndPrefillRowsEqualSeparateRuns() throws IOException {
        for (String name : MODELS) {
            Path path = SharedData.require("conformance/models/" + name);
            try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
                for (GGMLType type : new GGMLType[]{GGMLType.F32, GGMLType.F16}) {
                    try (KvBlockPool pool = PagedKvModelTest.poolFor(m, type, 4, 64)) {
                        m.batchInvariant(true);
                        try {
                            BitIdentical.assertBitIdentical(() -> mixed(m, pool, type, false), () -> mixed(m, pool, type, true),
                                    name + " " + type + " batch-invariant");
                        } finally {
                            m.batchInvariant(false);
                        }
                        if (type == GGMLType.F32) {
                            float[] separate = mixed(m, pool, type, false);
                            float[] batched = mixed(m, pool, type, true);
                            double worst = 0;
                            for (int i = 0; i < separate.length; i++) {
                                double d = Math.abs(separate[i] - batched[i]) / Math.max(1.0, Math.abs(separate[i]));
                                worst = Math.max(worst, d);
                            }
                            assertTrue(worst <= 1e-5, name + ": batched vs separate differ by " + worst + " (relative)");
                        }
                        assertEquals(64, pool.freeBlocks());
                    }
                }
            }
        }
    }

    /** Four sequences set up by prefills, then three steps mixing decode and prefill rows. */
    private static float[] mixed(TransformerModel m, KvBlockPool pool, GGMLType type, boolean batched) {
        try (PagedKvCache c1 = pool.newCache(64); PagedKvCache c3 = pool.newCache(64)) {
            TransformerState[] st = {m.newState(64, type), m.newState(c1), m.newState(64, type), m.newState(c3)};
            m.forward(st[0], prompt(7, 11), false);
            m.forward(st[1], prompt(12, 12), false);
            m.forward(st[2], prompt(3, 13), false);
            // st[3] is fresh
            int[][][] steps = {
                    {{40}, {41, 42}, {43}, prompt(6, 14)},
                    {{44}, {45}, {46, 47, 48}, {49}},
                    {{50}, {51}, {52}, {53}},
            };
            boolean[] all = {false, true, false, false};
            List<float[]> out = new ArrayList<>();
            for (int[][] step : steps) {
                if (batched) {
                    List<BatchEntry> batch = new ArrayList<>();
                    for (int i = 0; i < st.length; i++) batch.add(new BatchEntry(st[i], step[i], all[i]));
                    out.addAll(m.forwardBatch(batch));
                } else {
                    for (int i = 0; i < st.length; i++) out.add(m.forward(st[i], step[i], all[i]).clone());
                }
            }
            assertEquals(7 + 1 + 1 + 1, st[0].position());
            assertEquals(6 + 1 + 1, st[3].position());
            return BitIdentical.concat(out.toArray(new float[0][]));
        }
    }

    /** Greedy decoding of several streams stepped together picks the same tokens as decoding each alone. */
    @Test
    void greedyTokensEqualWithAndWithoutBatching() throws IOException {
        for (String name : MODELS) {
            Path path = SharedData.require("conformance/models/" + name);
            try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
                int streams = 4, steps = 24;
                int[][] alone = new int[streams][steps];
                for (int s = 0; s < streams; s++) {
                    TransformerState st = m.newState(64);
                    int next = ConformanceTest.argmax(m.forward(st, prompt(3 + 2 * s, 20 + s), false), 0, m.config().vocabSize());
                    for (int i = 0; i < steps; i++) {
                        alone[s][i] = next;
                        float[] l = m.forward(st, new int[]{next}, false);
                        next = ConformanceTest.argmax(l, 0, l.length);
                    }
                }
                TransformerState[] st = new TransformerState[streams];
                int[] next = new int[streams];
                List<BatchEntry> batch = new ArrayList<>();
                for (int s = 0; s < streams; s++) {
                    st[s] = m.newState(64);
                    batch.add(new BatchEntry(st[s], prompt(3 + 2 * s, 20 + s)));
                }
                int[][] together = new int[streams][steps];
                List<float[]> out = m.forwardBatch(batch);
                for (int i = 0; i < steps; i++) {
                    batch.clear();
                    for (int s = 0; s < streams; s++) {
                        next[s] = ConformanceTest.argmax(out.get(s), 0, out.get(s).length);
                        together[s][i] = next[s];
                        batch.add(new BatchEntry(st[s], new int[]{next[s]}));
                    }
                    out = m.forwardBatch(batch);
                }
                for (int s = 0; s < streams; s++) assertArrayEquals(alone[s], together[s], name + " stream " + s);
            }
        }
    }

    @Test
    void resultsAreNotOverwrittenByLaterCalls() throws IOException {
        Path path = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
            TransformerState a = m.newState(16), b = m.newState(16);
            List<float[]> first = m.forwardBatch(List.of(new BatchEntry(a, new int[]{1, 5}), new BatchEntry(b, new int[]{1})));
            float[] keep0 = first.get(0).clone(), keep1 = first.get(1).clone();
            assertEquals(m.config().vocabSize(), keep0.length);
            m.forwardBatch(List.of(new BatchEntry(a, new int[]{7}), new BatchEntry(b, new int[]{8})));
            m.forward(a, new int[]{9}, false);
            assertArrayEquals(keep0, first.get(0));
            assertArrayEquals(keep1, first.get(1));
            assertEquals(List.of(), m.forwardBatch(List.of()));
        }
    }

    /** Bad entries fail before any state changes, with a message naming the entry. */
    @Test
    void badBatchesFailBeforeChangingAnyState() throws IOException {
        Path path = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (TransformerModel m = (TransformerModel) Models.load(path, POOL);
             TransformerModel other = (TransformerModel) Models.load(path, POOL);
             KvBlockPool pool = PagedKvModelTest.poolFor(m, GGMLType.F16, 4, 4)) {
            TransformerState a = m.newState(8);
            PagedKvCache cache = pool.newCache(32);
            TransformerState b = m.newState(cache);
            m.forward(a, new int[]{1, 2, 3}, false);
            m.forward(b, new int[]{1, 2}, false);
            TransformerState ref = m.newState(8);
            m.forward(ref, new int[]{1, 2, 3}, false);
            float[] expectA = m.forward(ref, new int[]{4}, false).clone();

            var e1 = assertThrows(IllegalArgumentException.class, () -> m.forwardBatch(List.of(
                    new BatchEntry(a, new int[]{4}), new BatchEntry(other.newState(8), new int[]{1}))));
            assertTrue(e1.getMessage().contains("entry 1") && e1.getMessage().contains("not created by this model"), e1.getMessage());
            var e2 = assertThrows(IllegalStateException.class, () -> m.forwardBatch(List.of(
                    new BatchEntry(a, new int[]{4}), new BatchEntry(b, new int[]{5}), new BatchEntry(m.newState(4), new int[]{1, 2, 3, 4, 5}))));
            assertTrue(e2.getMessage().contains("entry 2") && e2.getMessage().contains("capacity 4"), e2.getMessage());
            var e3 = assertThrows(IllegalArgumentException.class, () -> m.forwardBatch(List.of(
                    new BatchEntry(a, new int[]{4}), new BatchEntry(b, new int[]{5, 512}))));
            assertTrue(e3.getMessage().contains("entry 1") && e3.getMessage().contains("token id 512"), e3.getMessage());
            var e4 = assertThrows(IllegalArgumentException.class, () -> m.forwardBatch(List.of(
                    new BatchEntry(a, new int[]{4}), new BatchEntry(a, new int[]{5}))));
            assertTrue(e4.getMessage().contains("share one state"), e4.getMessage());
            // b's pool has 4 blocks of 4 positions: 2 + 15 positions need 5
            var e5 = assertThrows(IllegalStateException.class, () -> m.forwardBatch(List.of(
                    new BatchEntry(a, new int[]{4}), new BatchEntry(b, prompt(15, 3)))));
            assertTrue(e5.getMessage().contains("entry 1") && e5.getMessage().contains("exhausted"), e5.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new BatchEntry(a, new int[0]));

            assertEquals(3, a.position());
            assertEquals(2, b.position());
            assertEquals(2, cache.length());
            // a continues as if nothing had been attempted (up to JIT-dependent rounding)
            float[] gotA = m.forwardBatch(List.of(new BatchEntry(a, new int[]{4}))).get(0);
            LlamaBehaviourTest.assertClose(expectA, 0, gotA, 0, expectA.length, 1e-4, "a after failed batches");
            cache.close();
        }
    }

    /** The default implementation (Mamba): one forward per entry, copies returned. */
    @Test
    void defaultImplementationRunsEntriesInTurn() throws IOException {
        Path path = SharedData.require("conformance/models/synth-mamba-f32.gguf");
        try (LanguageModel m = Models.load(path, POOL)) {
            int[] p1 = prompt(6, 1), p2 = prompt(4, 2);
            BitIdentical.assertBitIdentical(() -> {
                ModelState a = m.newState(16), b = m.newState(16);
                float[] ra = m.forward(a, p1, false).clone();
                float[] rb = m.forward(b, p2, true);
                float[] ra2 = m.forward(a, new int[]{7}, false).clone();
                return BitIdentical.concat(ra, rb, ra2);
            }, () -> {
                ModelState a = m.newState(16), b = m.newState(16);
                List<float[]> r = m.forwardBatch(List.of(new BatchEntry(a, p1), new BatchEntry(b, p2, true)));
                float[] ra = r.get(0), rb = r.get(1);
                float[] keep = ra.clone();
                float[] ra2 = m.forwardBatch(List.of(new BatchEntry(a, new int[]{7}))).get(0);
                assertArrayEquals(keep, ra, "earlier result unchanged");
                return BitIdentical.concat(ra, rb, ra2);
            }, "mamba default forwardBatch");
            ModelState a = m.newState(4);
            var e = assertThrows(IllegalStateException.class, () -> m.forwardBatch(List.of(
                    new BatchEntry(a, new int[]{1}), new BatchEntry(m.newState(2), new int[]{1, 2, 3}))));
            assertTrue(e.getMessage().contains("entry 1"), e.getMessage());
            assertEquals(0, a.position());
        }
    }
}
