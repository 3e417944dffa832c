package io.jlm.models.mamba;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.models.ModelFormatException;
import io.jlm.core.SharedData;
import io.jlm.models.WeightSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaModelTest {
    private static final ThreadPool POOL = new ThreadPool(2);

    @AfterAll
    static void closePool() { POOL.close(); }

    private static int[] randomTokens(long seed, int n, int vocab) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    /** max |a-b| / max |b| over all elements. */
    private static double relDiff(float[] a, float[] b) {
        assertEquals(b.length, a.length, "length");
        double maxD = 0, maxB = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            if (!(d <= maxD)) maxD = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
            maxB = Math.max(maxB, Math.abs(b[i]));
        }
        return maxD / maxB;
    }

    /** Logits of every position, running the tokens one decode step at a time. */
    private static float[] stepByStep(MambaModel m, int[] tokens) {
        int v = m.config().vocabSize();
        MambaState st = m.newState(tokens.length);
        float[] all = new float[tokens.length * v];
        for (int i = 0; i < tokens.length; i++) {
            float[] l = m.forward(st, new int[]{tokens[i]}, false);
            System.arraycopy(l, 0, all, i * v, v);
        }
        assertEquals(tokens.length, st.position());
        return all;
    }

    private static void assertPrefillEqualsDecode(MambaModel m, int[] tokens) {
        float[] steps = stepByStep(m, tokens);
        for (int chunk : new int[]{1, 2, 5, 64}) {
            MambaState st = m.newState(tokens.length, chunk);
            float[] batched = m.forward(st, tokens, true);
            double rel = relDiff(batched, steps);
            assertTrue(rel <= 1e-5, "prefill chunk " + chunk + " vs token-by-token decode: relative diff " + rel);
        }
        // prefill part of the prompt, then decode the rest
        int split = tokens.length / 3;
        MambaState st = m.newState(tokens.length);
        int v = m.config().vocabSize();
        float[] mixed = new float[tokens.length * v];
        System.arraycopy(m.forward(st, java.util.Arrays.copyOf(tokens, split), true), 0, mixed, 0, split * v);
        for (int i = split; i < tokens.length; i++) {
            System.arraycopy(m.forward(st, new int[]{tokens[i]}, false), 0, mixed, i * v, v);
        }
        double rel = relDiff(mixed, steps);
        assertTrue(rel <= 1e-5, "prefill then decode vs decode: relative diff " + rel);
    }

    @Test
    void matchesScalarDoubleReference() {
        for (boolean variant : new boolean[]{false, true}) {
            // variant: tied output, dt/B/C RMS norm (Falcon-Mamba), conv width 3
            TinyMamba tm = variant
                    ? new TinyMamba(7, 32, 2, 50, 3, 64, 8, 8, true, true)
                    : new TinyMamba(3, 32, 3, 40, 4, 64, 16, 4, false, false);
            MambaModel m = MambaModel.load(tm.source(), POOL);
            assertEquals(tm.vocab, m.config().vocabSize());
            int[] tokens = randomTokens(11, 23, tm.vocab);
            float[] got = m.forward(m.newState(64, 8), tokens, true);
            double[][] ref = tm.reference(tokens);
            float[] refF = new float[got.length];
            for (int p = 0; p < tokens.length; p++) {
                for (int i = 0; i < tm.vocab; i++) refF[p * tm.vocab + i] = (float) ref[p][i];
            }
            double rel = relDiff(got, refF);
            assertTrue(rel <= 1e-4, "variant " + variant + ": relative diff to double reference " + rel);
            // last-only logits equal the last row
            MambaState st = m.newState(64);
            float[] last = m.forward(st, tokens, false);
            float[] lastRef = java.util.Arrays.copyOfRange(refF, (tokens.length - 1) * tm.vocab, tokens.length * tm.vocab);
            assertTrue(relDiff(last, lastRef) <= 1e-4);
        }
    }

    @Test
    void prefillEqualsRecurrentDecodeTiny() {
        TinyMamba tm = new TinyMamba(5, 32, 2, 40, 4, 64, 16, 4, false, false);
        assertPrefillEqualsDecode(MambaModel.load(tm.source(), POOL), randomTokens(1, 37, tm.vocab));
    }

    @Test
    void prefillEqualsRecurrentDecodeSynthF32() throws IOException {
        try (GGUFFile f = GGUFFile.open(SharedData.require("conformance/models/synth-mamba-f32.gguf"))) {
            MambaModel m = MambaModel.load(f, POOL);
            MambaConfig c = m.mambaConfig();
            assertEquals(256, c.dim());
            assertEquals(512, c.dInner());
            assertEquals(16, c.dState());
            assertEquals(32, c.dtRank());
            assertEquals(4, c.dConv());
            assertPrefillEqualsDecode(m, randomTokens(2, 20, c.vocabSize()));
        }
    }

    @Test
    void rewindAndCapacity() {
        TinyMamba tm = new TinyMamba(9, 32, 1, 40, 4, 32, 4, 4, false, false);
        MambaModel m = MambaModel.load(tm.source(), POOL);
        int[] tokens = randomTokens(4, 9, tm.vocab);
        MambaState st = m.newState(10);
        float[] first = m.forward(st, tokens, true);
        st.rewind(9); // no-op
        assertEquals(9, st.position());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> st.rewind(4));
        assertTrue(e.getMessage().contains("cannot be rewound"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> st.rewind(10));
        assertThrows(IllegalStateException.class, () -> m.forward(st, new int[]{1, 2}, false));
        assertEquals(9, st.position());
        st.rewind(0);
        assertEquals(0, st.position());
        float[] again = m.forward(st, tokens, true);
        assertEquals(0.0, relDiff(again, first), "same logits after rewind(0)");
        assertThrows(IllegalArgumentException.class, () -> m.forward(st, new int[]{tm.vocab}, false));
        assertThrows(IllegalArgumentException.class, () -> m.forward(m.newState(4), new int[0], false));
        // constant-size recurrent state: conv (dConv-1)*dInner + ssm dInner*dState floats per layer, plus scratch
        assertTrue(st.bytes() >= 4L * (3 * 32 + 32 * 4), "bytes " + st.bytes());
        assertEquals(st.bytes(), m.newState(1_000_000, 10).bytes(), "state size must not grow with capacity");
    }

    @Test
    void clearErrorsForBadFiles() {
        TinyMamba tm = new TinyMamba(9, 32, 1, 40, 4, 32, 4, 4, false, false);
        WeightSource ok = tm.source();
        Map<String, WeightSource.Tensor> ts = new HashMap<>();
        for (String n : tm.shapes.keySet()) ts.put(n, ok.tensor(n));

        Map<String, WeightSource.Tensor> missing = new HashMap<>(ts);
        missing.remove("blk.0.ssm_a");
        ModelFormatException e1 = assertThrows(ModelFormatException.class,
                () -> MambaModel.load(WeightSource.of("bad.gguf", ok.metadata(), missing), POOL));
        assertTrue(e1.getMessage().contains("bad.gguf") && e1.getMessage().contains("blk.0.ssm_a"), e1.getMessage());

        Map<String, WeightSource.Tensor> wrong = new HashMap<>(ts);
        WeightSource.Tensor a = ts.get("blk.0.ssm_d");
        wrong.put("blk.0.ssm_d", new WeightSource.Tensor(a.name(), a.type(), new long[]{16}, a.data()));
        ModelFormatException e2 = assertThrows(ModelFormatException.class,
                () -> MambaModel.load(WeightSource.of("bad.gguf", ok.metadata(), wrong), POOL));
        assertTrue(e2.getMessage().contains("blk.0.ssm_d") && e2.getMessage().contains("[32]"), e2.getMessage());

        var md = new HashMap<>(ok.metadata().entries());
        md.remove("mamba.ssm.state_size");
        ModelFormatException e3 = assertThrows(ModelFormatException.class, () -> MambaModel.load(
                WeightSource.of("bad.gguf", new io.jlm.formats.gguf.GGUFMetadata(md, "bad.gguf"), ts), POOL));
        assertTrue(e3.getMessage().contains("mamba.ssm.state_size"), e3.getMessage());
    }

    @Test
    void tiedOutputUsesEmbedding() {
        TinyMamba tm = new TinyMamba(9, 32, 1, 40, 4, 32, 4, 4, false, true);
        MambaModel m = MambaModel.load(tm.source(), POOL);
        assertSame(m.weights().tokenEmbedding(), m.weights().output());
    }
}
