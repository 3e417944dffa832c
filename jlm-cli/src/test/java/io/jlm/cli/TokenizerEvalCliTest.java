package io.jlm.cli;

import io.jlm.core.SharedData;
import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import io.jlm.tasks.Perplexity;
import io.jlm.tokenizers.HuggingFaceTokenizer;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** {@code jlm tokenizer train|compare} and {@code jlm eval ppl|tasks}, run in-process. */
class TokenizerEvalCliTest {

    @TempDir
    Path tmp;

    @Test
    void trainWritesLoadableVocabulariesAndCompareReportsCounts() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, Files.readString(SharedData.require("corpora/tinyshakespeare.txt")).substring(0, 100_000));
        Path gguf = tmp.resolve("v.gguf"), json = tmp.resolve("tokenizer.json");
        CliTest.Run r = CliTest.run("tokenizer", "train", "-o", gguf.toString(), "--vocab-size", "600", "--special", "<s>",
                "--special", "</s>", "--hf-json", json.toString(), corpus.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.err().contains("trained 600 tokens"), r.err());
        Tokenizer t = Tokenizers.fromGGUF(gguf);
        assertEquals(600, t.vocabSize());
        assertEquals(0, t.bos());
        assertEquals("</s>", t.tokenText(1));
        String text = Files.readString(corpus);
        assertArrayEquals(t.encode(text), HuggingFaceTokenizer.load(json).encode(text));

        CliTest.Run c = CliTest.run("tokenizer", "compare", "-m", gguf.toString(), corpus.toString());
        assertEquals(0, c.rc(), c.err());
        List<String> lines = c.out().lines().toList();
        assertEquals(4, lines.size(), c.out());
        long merges = Long.parseLong(lines.get(1).trim().split("\\s+")[1]);
        long optimal = Long.parseLong(lines.get(3).trim().split("\\s+")[1]);
        assertEquals(t.encode(text).length, merges);
        assertTrue(lines.get(3).startsWith("optimal") && optimal <= merges, c.out());

        CliTest.Run bad = CliTest.run("tokenizer", "train", "-o", gguf.toString(), "--vocab-size", "100", corpus.toString());
        assertEquals(1, bad.rc());
        assertTrue(bad.err().contains("too small"), bad.err());
    }

    @Test
    void evalPplPrintsWhatTheLibraryComputes() throws Exception {
        Path model = SharedData.require("conformance/models/stories260K-f32.gguf");
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, Files.readString(SharedData.require("corpora/tinyshakespeare.txt")).substring(0, 3000));
        CliTest.Run r = CliTest.run("eval", "ppl", "-m", model.toString(), "--ctx", "64", "--llama-compat", "-t", "2", text.toString());
        assertEquals(0, r.rc(), r.err());
        Matcher m = Pattern.compile("perplexity (\\S+) \\+/- (\\S+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        double ppl = Double.parseDouble(m.group(1));
        Tokenizer tok = Tokenizers.fromGGUF(model);
        try (ThreadPool pool = new ThreadPool(2); LanguageModel lm = Models.load(model, pool)) {
            Perplexity.Result ref = Perplexity.evaluate(lm, tok, Files.readString(text), Perplexity.Options.llamaCpp(64), null);
            assertEquals(ref.perplexity(), ppl, 1e-4 * ppl);
            assertTrue(r.out().contains(ref.windows() + " windows, " + ref.tokens() + " tokens scored"), r.out());
        }
        assertTrue(r.out().contains("bits/byte"), r.out());
        CliTest.Run bad = CliTest.run("eval", "ppl", "-m", model.toString(), "--ctx", "64", "--stride", "64", text.toString());
        assertEquals(1, bad.rc());
        assertTrue(bad.err().contains("stride"), bad.err());
    }

    @Test
    void evalTasksPrintsOneRowPerTask() {
        Path model = SharedData.require("conformance/models/stories260K-f32.gguf");
        CliTest.Run r = CliTest.run("eval", "tasks", "-m", model.toString(), "--task", "copy,passkey", "-P", "length=40",
                "--samples", "3", "-t", "2");
        assertEquals(0, r.rc(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(lines.get(1).startsWith("copy ") && lines.get(1).contains("length=40"), r.out());
        assertTrue(lines.get(2).startsWith("passkey ") && lines.get(2).contains("length=40"), r.out());
        CliTest.Run bad = CliTest.run("eval", "tasks", "-m", model.toString(), "--task", "nosuch");
        assertEquals(1, bad.rc());
        assertTrue(bad.err().contains("unknown task 'nosuch'"), bad.err());
        CliTest.Run list = CliTest.run("eval", "tasks", "--list");
        assertEquals(0, list.rc(), list.err());
        assertTrue(list.out().contains("mqar"), list.out());
    }
}
