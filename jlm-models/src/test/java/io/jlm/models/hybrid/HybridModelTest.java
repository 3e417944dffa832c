package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jlm hybrid engine against a float64 parallel-form reference of docs/JLM_ARCH.md, and its state handling. */
class HybridModelTest {
    private static final ThreadPool POOL = new ThreadPool(2);
    private static final int T = 20;

    @TempDir
    Path dir;

    @AfterAll
    static void closePool() { POOL.close(); }

    private static int[] tokens(long seed, int n, int vocab) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    private HybridModel load(HybridFixture fx) throws IOException {
        LanguageModel m = Models.load(fx.write(dir, "m" + Math.abs(fx.hashCode())), POOL);
        return assertInstanceOf(HybridModel.class, m);
    }

    /** max |a - b| / max |b|. */
    private static double relDiff(float[] a, double[][] b) {
        int v = b[0].length;
        assertEquals(b.length * v, a.length, "length");
        double maxD = 0, maxB = 0;
        for (int t = 0; t < b.length; t++) {
            for (int i = 0; i < v; i++) {
                double diff = Math.abs(a[t * v + i] - b[t][i]);
                if (!(diff <= maxD)) maxD = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff;
                maxB = Math.max(maxB, Math.abs(b[t][i]));
            }
        }
        return maxD / maxB;
    }

    /** max |a - b| / max |b| for float arrays. */
    private static double relDiff(float[] a, float[] b) {
        assertEquals(b.length, a.length, "length");
        double maxD = 0, maxB = 0;
        for (int i = 0; i < a.length; i++) {
            double diff = Math.abs(a[i] - b[i]);
            if (!(diff <= maxD)) maxD = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff;
            maxB = Math.max(maxB, Math.abs(b[i]));
        }
        return maxD / maxB;
    }

    /**
     * Same logits up to float rounding: the code path is the same, but the JIT's intrinsics (Math.exp, Vector API
     * reductions) may round differently from the interpreter's, so runs of identical code are not bit-identical.
     */
    private static void assertSame(float[] expected, float[] actual, String what) {
        double rel = relDiff(actual, expected);
        assertTrue(rel <= 1e-5, what + ": relative difference " + rel);
    }

    /**
     * Engine logits of all positions equal the float64 reference (1e-5 relative; observed ~3e-7), and decoding token
     * by token, or in pieces continuing from the state, agrees.
     */
    private void check(HybridFixture fx, long seed) throws IOException {
        try (HybridModel m = load(fx)) {
            int[] toks = tokens(seed, T, fx.vocab);
            float[] all = m.forward(m.newState(T), toks, true);
            double rel = relDiff(all, HybridReference.logits(fx, toks));
            assertTrue(rel <= 1e-5, fx.pattern + " (" + fx.position + "/" + fx.scaling + "): engine vs float64 reference,"
                    + " relative difference " + rel);

            int v = fx.vocab;
            HybridState st = m.newState(T);
            float[] steps = new float[T * v];
            for (int i = 0; i < T; i++) System.arraycopy(m.forward(st, new int[]{toks[i]}, false), 0, steps, i * v, v);
            assertSame(all, steps, fx.pattern + ": one token at a time vs all at once");

            // a prefix, then the rest in uneven pieces, continuing from the state
            HybridState st2 = m.newState(T);
            float[] pieces = new float[T * v];
            int at = 0;
            for (int n : new int[]{7, 1, 5, 7}) {
                float[] l = m.forward(st2, Arrays.copyOfRange(toks, at, at + n), true);
                System.arraycopy(l, 0, pieces, at * v, n * v);
                at += n;
            }
            assertSame(all, pieces, fx.pattern + ": pieces 7+1+5+7 vs all at once");
            assertEquals(T, st2.position());
            float[] last = m.forward(m.newState(T), toks, false);
            assertSame(Arrays.copyOfRange(all, (T - 1) * v, T * v), last, "last-token logits");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"AFWF", "LFRF", "SFHF", "MFAF", "AMRSHLWF", "WWA", "HHS", "MRL"})
    void matchesReference(String pattern) throws IOException {
        check(new HybridFixture(pattern).generate(pattern.hashCode()), 7);
    }

    @ParameterizedTest
    @CsvSource({"rope,none,1", "rope,linear,2.5", "rope,ntk,4", "alibi,none,1", "none,none,1", "learned,none,1"})
    void positionModes(String position, String scaling, float factor) throws IOException {
        HybridFixture fx = new HybridFixture("AFWF");
        fx.position = position;
        fx.scaling = scaling;
        fx.factor = factor;
        fx.theta = 100f; // large angles at small positions, so that scaling matters
        check(fx.generate(11), 3);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void groupedQueryAttention(int kvHeads) throws IOException {
        HybridFixture fx = new HybridFixture("AWFA");
        fx.nkv = kvHeads;
        fx.window = 5;
        check(fx.generate(100 + kvHeads), 5);
    }

    @Test
    void tiedOutputAndOtherSizes() throws IOException {
        HybridFixture fx = new HybridFixture("HMSW");
        fx.tied = true;
        fx.d = 24;
        fx.nh = 3; // hs = 8
        fx.nkv = 1;
        fx.shift = 1;
        fx.dconv = 1;
        fx.modes = 2;
        fx.window = 1;
        check(fx.generate(5), 9);
        fx.shift = 5;
        fx.dconv = 2;
        fx.window = 40; // longer than the sequence
        check(fx.generate(6), 10);
    }

    @Test
    void learnedPositionsStopAtContextLength() throws IOException {
        HybridFixture fx = new HybridFixture("AF");
        fx.position = "learned";
        fx.ctx = 8;
        try (HybridModel m = load(fx.generate(1))) {
            HybridState st = m.newState(100);
            assertEquals(8, st.capacity(), "learned positions bound the capacity");
            m.forward(st, tokens(1, 8, fx.vocab), false);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.forward(st, new int[]{1}, false));
            assertTrue(e.getMessage().contains("learned position embeddings") && e.getMessage().contains("jlm.context_length = 8"),
                    e.getMessage());
            assertEquals(8, st.position(), "state unchanged");
        }
    }

    @Test
    void stateBytesPerSublayer() throws IOException {
        HybridFixture fx = new HybridFixture("AWFLRSHM");
        try (HybridModel m = load(fx.generate(2))) {
            int cap = 1000, kvDim = fx.nkv * fx.hs();
            HybridState st = m.newState(cap);
            KvLayerState a = assertInstanceOf(KvLayerState.class, st.layer(0));
            KvLayerState w = assertInstanceOf(KvLayerState.class, st.layer(1));
            assertEquals(cap, a.slots());
            assertEquals(2L * cap * kvDim * 4, a.bytes());
            assertEquals(fx.window, w.slots(), "the window state keeps only the last window positions");
            assertEquals(2L * fx.window * kvDim * 4, w.bytes());
            assertNull(st.layer(2), "F has no state");
            long linear = (long) fx.nh * fx.hs() * fx.hs() * 4;
            assertEquals('L', st.layer(3).letter());
            assertEquals(linear, st.layer(3).bytes());
            assertEquals('R', st.layer(4).letter());
            assertEquals(linear, st.layer(4).bytes());
            assertEquals(2L * fx.d * fx.modes * 4, assertInstanceOf(S4dLayerState.class, st.layer(5)).bytes());
            assertEquals(((long) (fx.shift - 1) * fx.d + 2L * fx.d * fx.modes) * 4,
                    assertInstanceOf(H3LayerState.class, st.layer(6)).bytes());
            assertEquals(((long) (fx.dconv - 1) * fx.di + (long) fx.di * fx.ds) * 4,
                    assertInstanceOf(MambaLayerState.class, st.layer(7)).bytes());
            long sum = 0;
            for (int i = 0; i < 8; i++) if (st.layer(i) != null) sum += st.layer(i).bytes();
            assertTrue(st.bytes() > sum, "state bytes include the sublayer states and scratch");
            // a window sublayer does not grow with the capacity
            assertEquals(w.bytes(), assertInstanceOf(KvLayerState.class, m.newState(100_000).layer(1)).bytes());
        }
    }

    @Test
    void rewind() throws IOException {
        int[] toks = tokens(3, 12, 40);
        try (HybridModel m = load(new HybridFixture("AMFW").generate(3))) {
            HybridState st = m.newState(20);
            float[] first = m.forward(st, toks, true);
            assertThrows(UnsupportedOperationException.class, () -> st.rewind(5));
            st.rewind(12);
            assertEquals(12, st.position());
            st.rewind(0);
            assertSame(first, m.forward(st, toks, true), "after reset");
        }
        try (HybridModel m = load(new HybridFixture("AFAF").generate(4))) {
            HybridState st = m.newState(20);
            float[] first = m.forward(st, toks, true);
            st.rewind(5);
            float[] again = m.forward(st, Arrays.copyOfRange(toks, 5, 12), true);
            assertSame(Arrays.copyOfRange(first, 5 * 40, 12 * 40), again, "full attention rewinds anywhere");
        }
    }

    @Test
    void configAndErrors() throws IOException {
        HybridFixture fx = new HybridFixture("AMRSHLWF");
        try (HybridModel m = load(fx.generate(8))) {
            assertEquals("jlm", m.config().architecture());
            assertEquals(8, m.config().layers());
            assertEquals(fx.vocab, m.config().vocabSize());
            assertEquals(fx.nh, m.config().heads());
            assertEquals(fx.nkv, m.config().kvHeads());
            assertEquals("AMRSHLWF", m.hybridConfig().pattern());
            HybridState st = m.newState(4);
            assertThrows(IllegalStateException.class, () -> m.forward(st, new int[5], false));
            assertThrows(IllegalArgumentException.class, () -> m.forward(st, new int[]{fx.vocab}, false));
            assertEquals(0, st.position());
            try (HybridModel other = load(new HybridFixture("AF").generate(9))) {
                assertThrows(IllegalArgumentException.class, () -> other.forward(st, new int[]{1}, false));
            }
            float[] emb = m.embed(m.newState(8), tokens(1, 5, fx.vocab), true);
            assertEquals(fx.d, emb.length);
        }
    }
}
