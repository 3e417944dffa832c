package io.jlm.tokenizers;

import io.jlm.core.SharedData;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Greedy and optimal merge-free segmentation against brute force. */
class MergeFreeEncoderTest {

    /** A vocabulary: 1 special, 256 bytes, then the given extra pieces (ASCII, so byte chars are the chars). */
    static BpeTokenizer vocab(List<String> extra) {
        List<String> tokens = new ArrayList<>();
        tokens.add("<|endoftext|>");
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(BpeByteEncoding.byteToChar(b)));
        tokens.addAll(extra);
        int[] types = new int[tokens.size()];
        Arrays.fill(types, Vocabulary.TYPE_NORMAL);
        types[0] = Vocabulary.TYPE_CONTROL;
        return new TrainedBpe(tokens.toArray(String[]::new), types, new String[0], "gpt-2", 0, 0, 0, 0).tokenizer();
    }

    /** All segmentations of s into vocabulary pieces, as lists of lengths. */
    static void all(String s, int from, List<String> pieces, List<Integer> cur, List<List<Integer>> out) {
        if (from == s.length()) { out.add(new ArrayList<>(cur)); return; }
        for (String p : pieces) {
            if (s.startsWith(p, from)) {
                cur.add(p.length());
                all(s, from + p.length(), pieces, cur, out);
                cur.remove(cur.size() - 1);
            }
        }
    }

    static List<Integer> lengths(BpeTokenizer t, int[] ids) {
        List<Integer> l = new ArrayList<>();
        for (int id : ids) l.add(t.tokenBytes(id).length);
        return l;
    }

    @Test
    void matchesBruteForceOnRandomSmallVocabularies() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            List<String> extra = new ArrayList<>();
            int nExtra = 3 + rnd.nextInt(12);
            while (extra.size() < nExtra) {
                StringBuilder b = new StringBuilder();
                int len = 2 + rnd.nextInt(4);
                for (int i = 0; i < len; i++) b.append("abc".charAt(rnd.nextInt(3)));
                if (!extra.contains(b.toString())) extra.add(b.toString());
            }
            BpeTokenizer t = vocab(extra);
            List<String> pieces = new ArrayList<>(extra);
            pieces.addAll(List.of("a", "b", "c"));
            MergeFreeEncoder greedy = new MergeFreeEncoder(t, MergeFreeEncoder.Mode.GREEDY);
            MergeFreeEncoder optimal = new MergeFreeEncoder(t, MergeFreeEncoder.Mode.OPTIMAL);
            for (int k = 0; k < 10; k++) {
                StringBuilder sb = new StringBuilder();
                int len = 1 + rnd.nextInt(12);
                for (int i = 0; i < len; i++) sb.append("abc".charAt(rnd.nextInt(3)));
                String s = sb.toString(); // one pre-token: letters only
                byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);

                // greedy reference: longest piece that is a prefix, repeatedly
                List<Integer> g = new ArrayList<>();
                for (int i = 0; i < s.length(); ) {
                    int best = 0;
                    for (String p : pieces) if (s.startsWith(p, i)) best = Math.max(best, p.length());
                    g.add(best);
                    i += best;
                }
                int[] gi = greedy.segment(bytes);
                assertEquals(g, lengths(t, gi), s + " " + extra);
                assertEquals(s, t.decode(gi));

                // optimal reference: fewest pieces; ties -> lexicographically largest length sequence
                List<List<Integer>> segs = new ArrayList<>();
                all(s, 0, pieces, new ArrayList<>(), segs);
                List<Integer> best = null;
                for (List<Integer> seg : segs) {
                    if (best == null || seg.size() < best.size() || (seg.size() == best.size() && lexGreater(seg, best))) best = seg;
                }
                int[] oi = optimal.segment(bytes);
                assertEquals(best, lengths(t, oi), s + " " + extra);
                assertEquals(s, t.decode(oi));
                assertTrue(oi.length <= gi.length);
                assertArrayEquals(oi, optimal.encode(s));
            }
        }
    }

    static boolean lexGreater(List<Integer> a, List<Integer> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            if (!a.get(i).equals(b.get(i))) return a.get(i) > b.get(i);
        }
        return false;
    }

    @Test
    void greedyIsNotOptimalOnAKnownCase() {
        // vocabulary {ab, abc? no: "ab", "bcd"}: "abcd" greedy -> ab|c|d (3), optimal -> a|bcd (2)
        BpeTokenizer t = vocab(List.of("ab", "bcd"));
        assertEquals(List.of(2, 1, 1), lengths(t, new MergeFreeEncoder(t, MergeFreeEncoder.Mode.GREEDY).encode("abcd")));
        assertEquals(List.of(1, 3), lengths(t, new MergeFreeEncoder(t, MergeFreeEncoder.Mode.OPTIMAL).encode("abcd")));
    }

    @Test
    void preTokenizationAndSpecialsAsBpe() {
        BpeTokenizer t = vocab(List.of("Ġthe", "the", "Ġcat"));
        MergeFreeEncoder g = new MergeFreeEncoder(t, MergeFreeEncoder.Mode.GREEDY);
        int[] ids = g.encode("the cat<|endoftext|>the", false, true);
        assertEquals(List.of("the", "Ġcat", "<|endoftext|>", "the"), Arrays.stream(ids).mapToObj(t::tokenText).toList());
        // pieces never cross pre-token boundaries: "thecat" is one pre-token -> the|c|a|t
        assertEquals(List.of("the", "c", "a", "t"), Arrays.stream(g.encode("thecat")).mapToObj(t::tokenText).toList());
        assertEquals(List.of("Ġthe", "Ġcat"), Arrays.stream(g.encode(" the cat")).mapToObj(t::tokenText).toList());
    }

    @Test
    void realVocabularyRoundTripsAndNeverBeatsOptimal() throws Exception {
        Tokenizer gpt2 = Tokenizers.fromGGUF(SharedData.require("conformance/tokenizers/ggml-vocab-gpt-2.gguf"));
        String text = Files.readString(SharedData.require("corpora/wikitext-2-test.txt")).substring(0, 100_000);
        BpeTokenizer bpe = (BpeTokenizer) gpt2;
        int[] merged = bpe.encode(text);
        int[] greedy = new MergeFreeEncoder(bpe, MergeFreeEncoder.Mode.GREEDY).encode(text);
        int[] optimal = new MergeFreeEncoder(bpe, MergeFreeEncoder.Mode.OPTIMAL).encode(text);
        assertEquals(text, bpe.decode(greedy));
        assertEquals(text, bpe.decode(optimal));
        assertTrue(optimal.length <= merged.length && optimal.length <= greedy.length,
                "optimal " + optimal.length + " merged " + merged.length + " greedy " + greedy.length);
    }
}
