package io.jlm.tokenizers;

import io.jlm.core.SharedData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Byte-level BPE training: against a naive re-counting trainer, and round trips through GGUF and tokenizer.json. */
class BpeTrainerTest {

    @TempDir
    static Path tmp;

    static String shakespeare, moby;
    static TrainedBpe big;
    static long trainMillis;

    @BeforeAll
    static void trainOnCorpora() throws IOException {
        Path s = SharedData.root().resolve("corpora/tinyshakespeare.txt");
        Path m = SharedData.root().resolve("corpora/moby-dick.txt");
        if (!Files.exists(s) || !Files.exists(m)) return; // tests that need it call SharedData.require
        shakespeare = Files.readString(s);
        moby = Files.readString(m);
        long t0 = System.nanoTime();
        big = new BpeTrainer(8000).add(shakespeare).add(moby).train();
        trainMillis = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("trained %d tokens (%d merges) on %d words in %d ms%n", big.size(), big.merges().length,
                big.distinctWords(), trainMillis);
    }

    /** Reference trainer: recounts every pair of every word occurrence at each step. */
    static List<String> naiveMerges(String text, int nMerges) {
        List<List<String>> words = new ArrayList<>();
        for (String w : PreTokenizerType.forName("gpt-2").preTokenizer().split(text)) {
            List<String> syms = new ArrayList<>();
            for (byte b : w.getBytes(StandardCharsets.UTF_8)) syms.add(String.valueOf(BpeByteEncoding.byteToChar(b)));
            words.add(syms);
        }
        // token ids as the trainer assigns them: 1 special, 256 bytes, then merged tokens in order
        Map<String, Integer> ids = new HashMap<>();
        for (int b = 0; b < 256; b++) ids.put(String.valueOf(BpeByteEncoding.byteToChar(b)), 1 + b);
        List<String> merges = new ArrayList<>();
        for (int step = 0; step < nMerges; step++) {
            Map<List<String>, Long> counts = new HashMap<>();
            for (List<String> w : words) {
                for (int i = 0; i + 1 < w.size(); i++) counts.merge(List.of(w.get(i), w.get(i + 1)), 1L, Long::sum);
            }
            List<String> best = null;
            long bestCount = 0;
            for (Map.Entry<List<String>, Long> e : counts.entrySet()) {
                long c = e.getValue();
                List<String> p = e.getKey();
                if (best == null || c > bestCount || (c == bestCount && compareIds(ids, p, best) < 0)) {
                    best = p;
                    bestCount = c;
                }
            }
            if (best == null || bestCount < 2) break;
            String a = best.get(0), b = best.get(1);
            merges.add(a + " " + b);
            ids.putIfAbsent(a + b, 1 + 256 + ids.size() - 256);
            for (List<String> w : words) {
                for (int i = 0; i + 1 < w.size(); i++) {
                    if (w.get(i).equals(a) && w.get(i + 1).equals(b)) {
                        w.set(i, a + b);
                        w.remove(i + 1);
                    }
                }
            }
        }
        return merges;
    }

    static int compareIds(Map<String, Integer> ids, List<String> p, List<String> q) {
        int c = Integer.compare(ids.get(p.get(0)), ids.get(q.get(0)));
        return c != 0 ? c : Integer.compare(ids.get(p.get(1)), ids.get(q.get(1)));
    }

    @Test
    void mergesEqualNaiveTrainer() throws IOException {
        String text = Files.readString(SharedData.require("corpora/tinyshakespeare.txt")).substring(0, 30_000)
                + " naïve café — ☃☃☃ 12345 12345";
        int nMerges = 300;
        TrainedBpe t = new BpeTrainer(1 + 256 + nMerges).add(text).train();
        List<String> expected = naiveMerges(text, nMerges);
        assertEquals(expected, Arrays.asList(t.merges()));
        assertEquals(1 + 256 + nMerges, t.size());
        // merged tokens are the concatenation of their merge
        for (int r = 0; r < nMerges; r++) assertEquals(t.merges()[r].replace(" ", ""), t.tokens()[257 + r]);
    }

    @Test
    void tinyHandExample() {
        // words: "ab" x3, " ab" x1 ... with gpt-2 splitting "ab ab ab ab": "ab", " ab", " ab", " ab"
        TrainedBpe t = new BpeTrainer(1 + 256 + 3).add("ab ab ab ab").train();
        // pairs: (a,b) x4, (Ġ,a) x3 -> first merge "a b"; then (Ġ,ab) x3 -> "Ġ ab"; then nothing occurs twice
        assertArrayEquals(new String[]{"a b", "Ġ ab"}, t.merges());
        assertEquals(1 + 256 + 2, t.size());
        assertArrayEquals(new int[]{257, 258, 258, 258}, t.tokenizer().encode("ab ab ab ab"));
        assertEquals(Vocabulary.TYPE_CONTROL, t.types()[0]);
        assertEquals("<|endoftext|>", t.tokens()[0]);
    }

    @Test
    void specialTokensAreNotTrainedOn() {
        TrainedBpe t = new BpeTrainer(400, List.of("<|endoftext|>", "<pad>"), "gpt-2", 1)
                .add("<|endoftext|><|endoftext|><|endoftext|>x<pad><pad>").train();
        for (String m : t.merges()) assertFalse(m.contains("<") || m.contains("|"), m);
        BpeTokenizer tok = t.tokenizer();
        assertArrayEquals(new int[]{0, 2 + 'x', 1}, tok.encode("<|endoftext|>x<pad>", false, true));
        assertEquals(0, tok.bos());
        assertEquals(0, tok.eos());
        assertTrue(tok.isControl(1));
    }

    @Test
    void otherPreTokenizerTypesRoundTrip() throws IOException {
        String text = Files.readString(SharedData.require("corpora/moby-dick.txt")).substring(0, 200_000);
        for (String pre : new String[]{"llama-bpe", "qwen2", "starcoder"}) {
            TrainedBpe t = new BpeTrainer(1500, List.of("<|endoftext|>"), pre, 2).add(text).train();
            Path gguf = tmp.resolve(pre + ".gguf");
            t.writeGGUF(gguf, pre);
            Tokenizer loaded = Tokenizers.fromGGUF(gguf);
            String probe = text.substring(100_000, 150_000) + " 1234567 don't DON'T \t\n  x";
            assertArrayEquals(t.referenceEncode(probe), loaded.encode(probe), pre);
            assertEquals(probe, loaded.decode(loaded.encode(probe)), pre);
        }
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(100));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(1000, List.of(), "gpt-2", 2));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(1000, List.of("<s>"), "no-such-pre", 2));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(1000, List.of("<s>", "<s>"), "gpt-2", 2));
    }

    @Test
    void corporaTrainFastAndReachTargetSize() {
        SharedData.require("corpora/moby-dick.txt");
        assertEquals(8000, big.size());
        assertTrue(trainMillis < 30_000, "training took " + trainMillis + " ms");
        assertEquals(new java.util.HashSet<>(Arrays.asList(big.tokens())).size(), big.size(), "token texts are unique");
    }

    @Test
    void ggufRoundTripEncodesLikeTheTrainer() throws IOException {
        SharedData.require("corpora/moby-dick.txt");
        Path gguf = tmp.resolve("bpe8k.gguf");
        big.writeGGUF(gguf, "bpe8k");
        Tokenizer loaded = Tokenizers.fromGGUF(gguf);
        assertInstanceOf(BpeTokenizer.class, loaded);
        assertEquals(8000, loaded.vocabSize());
        for (String corpus : new String[]{shakespeare, moby}) {
            String slice = corpus.substring(0, 150_000);
            assertArrayEquals(big.referenceEncode(slice), loaded.encode(slice));
            int[] ids = loaded.encode(corpus);
            assertEquals(corpus, loaded.decode(ids));
            assertTrue(ids.length < corpus.length() / 3, "compression " + corpus.length() + " chars -> " + ids.length);
        }
        String odd = "Ünïcödé 😀 tabs\t\tand\r\nnewlines   x  \u00a0 123456789 it's";
        assertEquals(odd, loaded.decode(loaded.encode(odd)));
        assertArrayEquals(big.referenceEncode(odd), loaded.encode(odd));
    }

    @Test
    void huggingFaceJsonLoadsAndAgrees() throws IOException {
        SharedData.require("corpora/moby-dick.txt");
        Path json = tmp.resolve("tokenizer.json");
        big.writeHuggingFaceJson(json);
        BpeTokenizer hf = HuggingFaceTokenizer.load(json);
        BpeTokenizer direct = big.tokenizer();
        assertEquals(direct.vocabSize(), hf.vocabSize());
        for (String corpus : new String[]{shakespeare, moby}) {
            String slice = corpus.substring(corpus.length() / 2);
            int[] a = direct.encode(slice);
            assertArrayEquals(a, hf.encode(slice));
            assertEquals(slice, hf.decode(a));
        }
        assertArrayEquals(new int[]{0}, hf.encode("<|endoftext|>", false, true));
    }
}
