package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.models.Models;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Recurrent form == parallel form for every token mixer: a model with the mixer is trained briefly here (the parallel
 * form), exported to GGUF ({@code mamba} or {@code jlm}) and run by the engine one token at a time (the recurrent
 * form); the logits at every position must agree.
 */
class HybridExportParityTest {
    static final ThreadPool POOL = ThreadPool.shared(2);

    static MixerConfig mixers(String pattern) {
        MixerConfig mx = MixerConfig.of(pattern, 4, 32).withWindow(5).withSsm(8, 4, 64, 4, 8, 2);
        if (pattern.equals("AFAF")) mx = mx.withKvHeads(2);
        return mx;
    }

    @ParameterizedTest
    @ValueSource(strings = {"MMM", "AFAF", "WFWF", "LFRF", "SFHF", "MFAF", "AMRSHLWF"})
    void engineMatchesTrainer(String pattern, @TempDir Path dir) throws Exception {
        check(pattern, mixers(pattern), dir);
    }

    /** RoPE position interpolation and NTK scaling: the trainer's scaled RoPE equals the engine's. */
    @ParameterizedTest
    @ValueSource(strings = {"LINEAR", "NTK"})
    void ropeScalingMatchesEngine(String scaling, @TempDir Path dir) throws Exception {
        check("AFAF", mixers("AFAF").withScaling(MixerConfig.Scaling.valueOf(scaling), 4f), dir);
    }

    static void check(String pattern, MixerConfig mx, Path dir) throws Exception {
        CharData data = new CharData(TrainerTest.TEXT);
        int t = 16;
        ModelConfig mc = ModelConfig.hybrid(data.vocab() + 3, t, 4, 32, 64, mx);
        TrainConfig tc = new TrainConfig(20, 4, 3e-3, 3e-4, 5, 20, 0.9, 0.99, 0.1, 1.0, 1000, 2, 3, 2);
        Model model = new Model(mc, tc.seed());
        Trainer tr = new Trainer(model, tc, data.train, data.val, POOL);
        float first = tr.step();
        for (int i = 1; i < 20; i++) tr.step();
        double after = tr.evaluate(data.train, 2, 5);
        assertTrue(after < first, pattern + ": training loss did not drop (" + first + " -> " + after + ")");

        Path gguf = dir.resolve(pattern + ".gguf");
        GgufExport.writeAny(model, GgufExport.charVocabulary(data.chars), "parity-" + pattern, gguf);

        Model.Step one = model.build(new Graph(POOL), 1);
        int[] prompt = data.encode("the lazy dog. pa");
        System.arraycopy(prompt, 0, one.ids(), 0, t);
        one.graph().forward();
        float[] ours = one.logits().data;
        int v = mc.vocab();
        try (LanguageModel lm = Models.load(gguf, POOL)) {
            ModelState st = lm.newState(t);
            double maxDiff = 0, maxAbs = 0;
            for (int i = 0; i < t; i++) {
                float[] theirs = lm.forward(st, new int[]{prompt[i]}, false);
                assertEquals(v, theirs.length);
                for (int j = 0; j < v; j++) {
                    maxDiff = Math.max(maxDiff, Math.abs(ours[i * v + j] - theirs[j]));
                    maxAbs = Math.max(maxAbs, Math.abs(theirs[j]));
                }
            }
            System.out.printf("%s parity (recurrent engine vs parallel trainer): max diff %.2e, max |logit| %.3f%n",
                    pattern, maxDiff, maxAbs);
            assertTrue(maxAbs > 0.1, "logits should not be near zero: " + maxAbs);
            assertTrue(maxDiff <= 1e-4 * Math.max(1, maxAbs), pattern + ": max diff " + maxDiff + " vs max |logit| " + maxAbs);
        }
    }
}
