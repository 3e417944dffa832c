package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Compares the tokenizer with a deliberately simple reference: keep the symbols in a list and, at every step, scan
 * all adjacent pairs for the one whose merged text is the best-scoring token (ties: leftmost). Quadratic, so only
 * used on modest texts, but free of the queue and of the cutting the fast implementation does.
 */
class NaiveSpmReferenceTest {

    static int[] naive(Vocabulary v, String text) {
        List<Integer> out = new ArrayList<>();
        if (text.isEmpty()) return new int[0];
        String s = ((v.addSpacePrefix() ? " " : "") + text).replace(' ', '\u2581');
        List<String> sym = new ArrayList<>();
        s.codePoints().forEach(cp -> sym.add(new String(Character.toChars(cp))));
        while (true) {
            int best = -1;
            float bestScore = 0;
            for (int i = 0; i + 1 < sym.size(); i++) {
                int id = v.id(sym.get(i) + sym.get(i + 1));
                if (id >= 0 && (best < 0 || v.score(id) > bestScore)) { best = i; bestScore = v.score(id); }
            }
            if (best < 0) break;
            sym.set(best, sym.get(best) + sym.remove(best + 1));
        }
        for (String piece : sym) {
            int id = v.id(piece);
            if (id >= 0) { out.add(id); continue; }
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) out.add(v.id(String.format("<0x%02X>", b & 0xFF)));
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void matchesNaiveReferenceOnCorpusText() throws IOException {
        Vocabulary v;
        Tokenizer t;
        try (GGUFFile f = GGUFFile.open(SharedData.require("conformance/tokenizers/ggml-vocab-llama-spm.gguf"))) {
            v = Vocabulary.fromGGUF(f.metadata());
            t = Tokenizers.fromGGUF(f.metadata());
        }
        List<String> texts = new ArrayList<>(TokenizerConformanceTest.readInputs(
                SharedData.require("conformance/tokenizers/ggml-vocab-llama-spm.gguf.inp")));
        String shakespeare = Files.readString(SharedData.require("corpora/tinyshakespeare.txt"));
        String wiki = Files.readString(SharedData.require("corpora/wikitext-2-valid.txt"));
        for (int i = 0; i < 8; i++) texts.add(shakespeare.substring(i * 50_000, i * 50_000 + 700));
        for (int i = 0; i < 8; i++) texts.add(wiki.substring(i * 60_000, i * 60_000 + 700));
        texts.add("    indented\tcode   with  runs   of     spaces\n\n\n and ▁ marks ▁▁ and \u00e9\u00e8 ÜÖ 日本語 🦙🦙");
        for (String s : texts) {
            int[] want = naive(v, s);
            assertArrayEquals(want, t.encode(s, false, false), () -> "text " + TokenizerConformanceTest.preview(s));
        }
    }
}
