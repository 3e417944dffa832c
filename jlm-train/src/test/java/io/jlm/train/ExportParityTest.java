package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.tensor.GGMLType;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import io.jlm.models.transformer.TransformerModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** A llama model trained here, exported to GGUF, gives the trainer's logits in the jlm engine. */
class ExportParityTest {
    static final ThreadPool POOL = new ThreadPool(2);
    @AfterAll static void close() { POOL.close(); }

    @Test void trainedLlamaLogitsMatchEngine(@TempDir Path dir) throws Exception {
        CharData data = new CharData(TrainerTest.TEXT);
        int t = 16;
        ModelConfig mc = ModelConfig.llama(data.vocab() + 3, t, 2, 2, 32, 64);
        TrainConfig tc = new TrainConfig(30, 4, 3e-3, 3e-4, 5, 30, 0.9, 0.99, 0.1, 1.0, 1000, 2, 3, 2);
        Model model = new Model(mc, tc.seed());
        Trainer tr = new Trainer(model, tc, data.train, data.val, POOL);
        for (int i = 0; i < 30; i++) tr.step();

        Path gguf = dir.resolve("tiny-llama.gguf");
        GgufExport.write(model, GgufExport.charVocabulary(data.chars), "jlm-train-test", gguf);
        String keep = System.getProperty("jlm.train.exportTo");   // for checking the file by hand with llama.cpp
        if (keep != null) java.nio.file.Files.copy(gguf, Path.of(keep), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        Model.Step one = model.build(new Graph(POOL), 1);
        int[] prompt = data.encode("the lazy dog. pa");
        assertEquals(t, prompt.length);
        System.arraycopy(prompt, 0, one.ids(), 0, t);
        one.graph().forward();
        float[] ours = one.logits().data;

        try (LanguageModel lm = Models.load(gguf, POOL)) {
            assertEquals(mc.vocab(), lm.config().vocabSize());
            TransformerModel m = (TransformerModel) lm;
            float[] theirs = m.forward(m.newState(t, GGMLType.F32), prompt, true);
            assertEquals(ours.length, theirs.length);
            double maxDiff = 0, maxAbs = 0;
            for (int i = 0; i < ours.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
                maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
            }
            System.out.printf("export parity: max |trainer - engine| = %.2e, max |logit| = %.3f%n", maxDiff, maxAbs);
            assertTrue(maxAbs > 1.0, "trained logits should not be near zero: " + maxAbs);
            assertTrue(maxDiff <= 1e-4 * maxAbs, "max diff " + maxDiff + " > 1e-4 * " + maxAbs);
        }
    }
}
