package io.jlm.models;

import io.jlm.core.SharedData;
import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.state.KvPolicy;
import io.jlm.models.transformer.TransformerModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** KV policies inside real models: exact where nothing is dropped, close for quantized caches, split-K decode. */
class KvPolicyModelTest {
    private static final ThreadPool POOL = new ThreadPool(2);

    @AfterAll
    static void closePool() { POOL.close(); }

    static int[] tokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 1 + r.nextInt(vocab - 1);
        return t;
    }

    /** Prefill of all but 16 tokens, then decode those one by one; returns all logits rows concatenated. */
    static float[] scenario(LanguageModel m, ModelState st, int[] t) {
        int vocab = m.config().vocabSize(), half = Math.max(1, t.length - 16);
        float[] out = new float[t.length * vocab];
        System.arraycopy(m.forward(st, java.util.Arrays.copyOf(t, half), true), 0, out, 0, half * vocab);
        for (int i = half; i < t.length; i++) System.arraycopy(m.forward(st, new int[]{t[i]}, false), 0, out, i * vocab, vocab);
        return out;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }

    @Test
    void policiesThatKeepEverythingEqualTheFullCache() throws IOException {
        for (String name : new String[]{"synth-llama-f32.gguf", "stories260K-f32.gguf"}) {
            Path path = SharedData.require("conformance/models/" + name);
            try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
                int[] t = tokens(150, m.config().vocabSize(), 1);
                float[] full = scenario(m, m.newState(200, GGMLType.F32), t);
                for (String spec : new String[]{"f32", "window:200", "sink:4,window:200", "sink:4,window:200,lminf=300",
                        "h2o:budget=190,recent=20", "a2sf:budget=190", "keyformer:budget=190", "think:ratio=0"}) {
                    ModelState st = m.newState(200, KvPolicy.parse(spec));
                    float[] got = scenario(m, st, t);
                    double d = maxAbsDiff(full, got);
                    assertTrue(d < 2e-4, name + " " + spec + ": max |logit diff| " + d);
                    assertEquals(150, st.position());
                }
            }
        }
    }

    @Test
    void quantizedCachesStayCloseToFull() throws IOException {
        Path path = SharedData.require("conformance/models/synth-llama-f32.gguf");
        try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
            int[] t = tokens(80, m.config().vocabSize(), 2);
            float[] full = scenario(m, m.newState(100, GGMLType.F32), t);
            for (String spec : new String[]{"q8_0", "q4_0"}) {
                float[] got = scenario(m, m.newState(100, KvPolicy.parse(spec)), t);
                double num = 0, den = 0;
                for (int i = 0; i < full.length; i++) {
                    num += Math.pow(full[i] - got[i], 2);
                    den += (double) full[i] * full[i];
                }
                double rel = Math.sqrt(num / den);
                assertTrue(rel < (spec.equals("q8_0") ? 0.02 : 0.1), spec + ": relative RMS logit difference " + rel);
                assertTrue(rel > 0, spec + " must actually quantize");
            }
        }
    }

    @Test
    void boundedPoliciesRunPastTheTrainedContextAtFlatMemory() throws IOException {
        Path path = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (TransformerModel m = (TransformerModel) Models.load(path, POOL)) {
            int trained = m.config().contextLength();
            for (String spec : new String[]{"sink:4,window:64", "h2o:budget=64", "window:64"}) {
                ModelState st = m.newState(trained * 3, KvPolicy.parse(spec));
                int[] t = tokens(trained + 40, m.config().vocabSize(), 3);
                m.forward(st, java.util.Arrays.copyOf(t, trained - 20), false);
                long bytes = ((io.jlm.models.transformer.TransformerState) st).cache().bytes();
                for (int i = trained - 20; i < t.length; i++) {
                    float[] l = m.forward(st, new int[]{t[i]}, false);
                    for (float x : l) assertTrue(Float.isFinite(x));
                }
                assertEquals(bytes, ((io.jlm.models.transformer.TransformerState) st).cache().bytes(), spec + " memory flat");
                assertEquals(trained + 40, st.position());
            }
        }
    }

    /** Decoding with 3 threads and 8 heads splits the context (split-K); logits equal the 1-thread pass. */
    @Test
    void splitKDecodeEqualsSingleThread() throws IOException {
        Path path = SharedData.require("conformance/models/synth-llama-f32.gguf");
        try (ThreadPool one = new ThreadPool(1); ThreadPool three = new ThreadPool(3);
             LanguageModel a = Models.load(path, one); LanguageModel b = Models.load(path, three)) {
            int n = 1600;
            int[] t = tokens(n + 2, a.config().vocabSize(), 4);
            ModelState sa = ((TransformerModel) a).newState(n + 2, GGMLType.F32);
            ModelState sb = ((TransformerModel) b).newState(n + 2, GGMLType.F32);
            a.forward(sa, java.util.Arrays.copyOf(t, n), false);
            b.forward(sb, java.util.Arrays.copyOf(t, n), false);
            for (int i = n; i < n + 2; i++) {
                float[] la = a.forward(sa, new int[]{t[i]}, false).clone();
                float[] lb = b.forward(sb, new int[]{t[i]}, false);
                double d = maxAbsDiff(la, lb);
                assertTrue(d < 1e-4, "split-K decode vs single thread: max |logit diff| " + d);
            }
        }
    }
}
