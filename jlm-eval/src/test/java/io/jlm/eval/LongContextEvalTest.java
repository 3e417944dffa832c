package io.jlm.eval;

import io.jlm.core.SharedData;
import io.jlm.core.parallel.ThreadPool;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.models.Models;
import io.jlm.models.WeightSource;
import io.jlm.models.state.KvPolicy;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LongContextEvalTest {

    @Test
    void logSoftmaxMatchesFormula() {
        float[] l = {1f, 2f, 3f, 0.5f};
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(0.5);
        assertEquals(Math.log(Math.exp(2) / z), Perplexity.logSoftmax(l, 0, 4, 1), 1e-9);
        assertEquals(Math.exp(1.5), Perplexity.ppl(new double[]{1, 2, 9}, 0, 2), 1e-12);
    }

    /** The random fill reaches the same position and holds the same bytes as a real prefill, and decoding goes on. */
    @Test
    void randomFillMatchesAPrefillInPositionAndBytes() throws Exception {
        Path path = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (GGUFFile file = GGUFFile.open(path); ThreadPool pool = new ThreadPool(1)) {
            try (LanguageModel m = Models.load(WeightSource.of(file), pool)) {
                int n = 100;
                int[] prompt = new int[n];
                for (int i = 0; i < n; i++) prompt[i] = 1 + (i * 37) % 400;
                for (String spec : List.of("f32", "q8_0", "q4_0", "sink:2,window:30")) {
                    KvPolicy p = KvPolicy.parse(spec);
                    ModelState real = m.newState(n + 8, p);
                    m.forward(real, prompt, false);
                    ModelState filled = LongContextEval.randomFilled(m, m.newState(n + 8, p), n, 7);
                    assertEquals(n, filled.position(), spec);
                    assertEquals(LongContextEval.cache(real).bytes(), LongContextEval.cache(filled).bytes(), spec);
                    float[] logits = m.forward(filled, new int[]{5}, false);
                    assertEquals(n + 1, filled.position(), spec);
                    for (float f : logits) assertTrue(Float.isFinite(f), spec);
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> LongContextEval.randomFilled(m, m.newState(n + 8, KvPolicy.parse("h2o:budget=20")), n, 7));
                assertTrue(e.getMessage().contains("eviction"), e.getMessage());
            }
        }
    }

    @Test
    void smallRunWritesReportAndPlots(@TempDir Path dir) throws Exception {
        Path path = SharedData.require("conformance/models/stories260K-f32.gguf");
        try (GGUFFile file = GGUFFile.open(path); ThreadPool pool = new ThreadPool(1)) {
            Tokenizer tok = Tokenizers.fromGGUF(file.metadata());
            try (LanguageModel m = Models.load(WeightSource.of(file), pool)) {
                // passkey prompts have exactly the requested length and end with the question
                Passkey.Case c = Passkey.make(tok, 200, new Random(3));
                assertEquals(200, c.prompt().length);
                assertArrayEquals(tok.encode(" " + c.key()), c.answer());
                assertTrue(tok.decode(c.prompt()).contains("The pass key is " + c.key()));

                int[] corpus = tok.encode("Once upon a time there was a little dog. The dog liked to run in the park. ".repeat(40));
                LongContextEval.Options o = new LongContextEval.Options(List.of("f32", "q8_0", "window:%B", "h2o:budget=%B"),
                        0.25, 1, 64, 2, List.of("f32", "sink:2,window:30"), 96, 32, new int[]{128}, 1,
                        List.of("f32", "sink:2,window:30"), new int[]{64, 128}, 4, false, List.of("sink:2,window:30"),
                        new int[]{70}, 32, 1);
                LongContextEval eval = new LongContextEval(m, tok, corpus, o, System.err);
                assertEquals("h2o:budget=16,recent=0.5", eval.policy("h2o:budget=%B", 64).spec());
                assertEquals("sink:4,window:12", eval.policy("sink:4,window:%W", 64).spec());
                assertEquals(1, ((KvPolicy.SinkWindow) eval.policy("window:%B", 64)).chunk());
                String md = eval.run(dir, "test");
                for (String png : new String[]{"ppl-by-position.png", "passkey.png", "kv-bytes.png", "decode-speed.png", "stream-speed.png", "stream-fluency.png"}) {
                    assertTrue(Files.size(dir.resolve(png)) > 1000, png);
                }
                assertTrue(md.contains("| `f32` |") && md.contains("+0.00%"), md);
                assertTrue(md.contains("q8_0"));
                assertEquals(md, Files.readString(dir.resolve("report.md")));
            }
        }
    }
}
