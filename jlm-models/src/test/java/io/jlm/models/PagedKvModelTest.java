package io.jlm.models;

import io.jlm.core.SharedData;
import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.state.KvBlockPool;
import io.jlm.models.state.PagedKvCache;
import io.jlm.models.transformer.TransformerConfig;
import io.jlm.models.transformer.TransformerModel;
import io.jlm.models.transformer.TransformerState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Transformer states on a {@link PagedKvCache}: same logits as the contiguous cache, prefix reuse. */
class PagedKvModelTest {
    private static final ThreadPool POOL = new ThreadPool(2);
    static final String[] MODELS = {"synth-llama-q8_0.gguf", "stories260K-f32.gguf"};
    static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 400, 428, 395, 392, 412, 444,
            426, 346, 397, 355, 267, 352};

    @AfterAll
    static void closePool() { POOL.close(); }

    static KvBlockPool poolFor(TransformerModel m, GGMLType type, int blockSize, int blocks) {
        TransformerConfig c = m.transformerConfig();
        return new KvBlockPool(type, c.layers(), c.kvHeads(), c.headDim(), blockSize, blocks);
    }

    /** Prefill, decode of fixed tokens, rewind and a new batch: logits bit-identical to the contiguous cache. */
    @Test
    void pagedLogitsEqualContiguous() throws IOException {
        for (String name : MODELS) {
            Path path = SharedData.require("conformance/models/" + name);
            try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
                for (GGMLType type : new GGMLType[]{GGMLType.F32, GGMLType.F16}) {
                    try (KvBlockPool pool = poolFor(m, type, 4, 16)) {
                        BitIdentical.assertBitIdentical(() -> scenario(m, m.newState(48, type)), () -> {
                            try (PagedKvCache cache = pool.newCache(48)) {
                                TransformerState st = m.newState(cache);
                                assertEquals(0, st.position());
                                float[] r = scenario(m, st);
                                assertEquals(4, cache.blocks(), "13 positions after the rewind");
                                return r;
                            }
                        }, name + " " + type);
                        assertEquals(16, pool.freeBlocks());
                    }
                }
            }
        }
    }

    private static float[] scenario(TransformerModel m, TransformerState st) {
        float[] prefill = m.forward(st, PROMPT, true);
        float[][] steps = new float[6][];
        for (int i = 0; i < 6; i++) steps[i] = m.forward(st, new int[]{300 + 7 * i}, false).clone();
        assertEquals(PROMPT.length + 6, st.position());
        st.rewind(10);
        float[] again = m.forward(st, new int[]{5, 6, 7}, true);
        return BitIdentical.concat(prefill, BitIdentical.concat(steps), again);
    }

    /**
     * Sequence A (P + X) publishes its blocks; sequence B (P + Y) attaches P's full blocks and computes only the rest:
     * its logits equal those of B computed from scratch.
     */
    @Test
    void attachedPrefixGivesColdLogits() throws IOException {
        for (String name : MODELS) {
            Path path = SharedData.require("conformance/models/" + name);
            try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
                int v = m.config().vocabSize();
                for (GGMLType type : new GGMLType[]{GGMLType.F32, GGMLType.F16}) {
                    String what = name + " " + type;
                    try (KvBlockPool pool = poolFor(m, type, 4, 24)) {
                        int[] a = PROMPT;
                        int[] b = Arrays.copyOf(PROMPT, PROMPT.length + 1);
                        for (int i = 17; i < b.length; i++) b[i] = 250 + i;  // shares a's first 17 tokens
                        try (PagedKvCache ca = pool.newCache(64)) {
                            m.forward(m.newState(ca), a, false);
                            assertEquals(20, ca.publish(a));
                        }
                        // B from scratch vs B on the attached prefix (its suffix rows)
                        BitIdentical.assertBitIdentical(() -> {
                            float[] cold = m.forward(m.newState(64, type), b, true);
                            return Arrays.copyOfRange(cold, 16 * v, b.length * v);
                        }, () -> {
                            try (PagedKvCache cb = pool.newCache(64)) {
                                int reused = cb.attachPrefix(b);
                                assertEquals(16, reused, what);
                                TransformerState sb = m.newState(cb);
                                assertEquals(16, sb.position());
                                float[] warm = m.forward(sb, Arrays.copyOfRange(b, reused, b.length), true);
                                assertEquals(b.length, sb.position());
                                return warm;
                            }
                        }, what + " attached prefix");
                        try (PagedKvCache cb = pool.newCache(64)) {
                            m.forward(m.newState(cb), b, false);
                            assertEquals(20, cb.publish(b));
                        }
                        // a third sequence equal to b: everything but the last token is reused
                        BitIdentical.assertBitIdentical(() -> {
                            float[] cold = m.forward(m.newState(64, type), b, true);
                            return Arrays.copyOfRange(cold, 20 * v, b.length * v);
                        }, () -> {
                            try (PagedKvCache cc = pool.newCache(64)) {
                                assertEquals(20, cc.attachPrefix(b));
                                return m.forward(m.newState(cc), Arrays.copyOfRange(b, 20, b.length), true);
                            }
                        }, what + " full hit");
                    }
                }
            }
        }
    }

    @Test
    void mismatchedCacheAndExhaustedPoolAreRejected() throws IOException {
        Path path = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
            TransformerConfig c = m.transformerConfig();
            try (KvBlockPool wrong = new KvBlockPool(GGMLType.F32, c.layers() + 1, c.kvHeads(), c.headDim(), 4, 4);
                 KvBlockPool wrongHd = new KvBlockPool(GGMLType.F32, c.layers(), c.kvHeads(), c.headDim() * 2, 4, 4)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.newState(wrong.newCache(8)));
                assertTrue(e.getMessage().contains("layers"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> m.newState(wrongHd.newCache(8)));
                assertTrue(e.getMessage().contains("KV heads"), e.getMessage());
            }
            try (KvBlockPool pool = poolFor(m, GGMLType.F32, 4, 3); PagedKvCache cache = pool.newCache(64)) {
                TransformerState st = m.newState(cache);
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.forward(st, PROMPT, false));
                assertTrue(e.getMessage().contains("exhausted"), e.getMessage());
                assertEquals(0, st.position());
                assertEquals(0, cache.length());
                m.forward(st, Arrays.copyOf(PROMPT, 12), false); // 12 positions fit in 3 blocks
                assertEquals(12, st.position());
            }
        }
    }
}
