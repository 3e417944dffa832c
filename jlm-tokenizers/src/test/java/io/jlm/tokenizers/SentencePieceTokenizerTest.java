package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFValue;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Hand-worked examples on tiny vocabularies; the expected ids follow from the SPM rules by hand. */
class SentencePieceTokenizerTest {

    private static final int BYTE0 = 3; // id of <0x00> in SyntheticVocab.spm(true)

    @Test
    void mergesHighestScoreFirst() {
        SyntheticVocab v = SyntheticVocab.spm(true);
        int sp = v.add("▁", -5), a = v.add("a", -3), b = v.add("b", -3), c = v.add("c", -3);
        int ab = v.add("ab", -1), bc = v.add("bc", -0.5f), spA = v.add("▁a", -2);
        SentencePieceTokenizer t = v.spmTokenizer();
        // "▁abc": bc (-0.5) beats ab (-1) and ▁a (-2); then a+bc is no token, ▁a still applies
        assertArrayEquals(new int[]{spA, bc}, t.encode("abc"));
        // "▁ab": ab (-1) beats ▁a (-2) -> ▁ + ab
        assertArrayEquals(new int[]{sp, ab}, t.encode("ab"));
        assertArrayEquals(new int[]{sp, c}, t.encode("c"));
        assertEquals(0, t.encode("").length);
        assertArrayEquals(new int[]{spA, a}, t.encode("aa")); // "▁aa": ▁a, then "▁aa" is no token
    }

    @Test
    void equalScoresMergeLeftmostFirst() {
        SyntheticVocab v = SyntheticVocab.spm(true);
        int sp = v.add("▁", -5);
        v.add("a", -3); v.add("b", -3);
        int c = v.add("c", -3);
        int ab = v.add("ab", -1);
        v.add("bc", -1);
        v.add("▁a", -2);
        // "▁abc": ab and bc tie at -1, ab is further left; afterwards ▁a is stale and "▁ab"/"abc" are no tokens
        assertArrayEquals(new int[]{sp, ab, c}, v.spmTokenizer().encode("abc"));
    }

    @Test
    void byteFallbackAndUnknown() {
        SyntheticVocab v = SyntheticVocab.spm(true);
        int sp = v.add("▁", -5);
        int a = v.add("a", -3);
        // é = C3 A9, 🦙 = F0 9F A6 99
        assertArrayEquals(new int[]{sp, BYTE0 + 0xC3, BYTE0 + 0xA9, a}, v.spmTokenizer().encode("éa"));
        assertArrayEquals(new int[]{sp, BYTE0 + 0xF0, BYTE0 + 0x9F, BYTE0 + 0xA6, BYTE0 + 0x99}, v.spmTokenizer().encode("🦙"));
        assertEquals("éa", v.spmTokenizer().decode(v.spmTokenizer().encode("éa")));

        SyntheticVocab nb = SyntheticVocab.spm(false);
        int sp2 = nb.add("▁", -5);
        int a2 = nb.add("a", -3);
        assertArrayEquals(new int[]{sp2, 0, 0, a2}, nb.spmTokenizer().encode("éa")); // one <unk> per byte
    }

    @Test
    void bosEosAndSpacePrefixFlags() {
        SyntheticVocab v = SyntheticVocab.spm(true);
        int sp = v.add("▁", -5);
        int a = v.add("a", -3);
        int b = v.add("b", -3);
        int spA = v.add("▁a", -2);
        assertArrayEquals(new int[]{1, spA}, v.spmTokenizer().encode("a", true, false));
        assertArrayEquals(new int[]{spA}, v.spmTokenizer().encode("a", false, false));
        assertArrayEquals(new int[]{1}, v.spmTokenizer().encode("", true, false));

        v.set("tokenizer.ggml.add_eos_token", GGUFValue.of(true));
        assertArrayEquals(new int[]{1, spA, 2}, v.spmTokenizer().encode("a", true, false));
        v.set("tokenizer.ggml.add_bos_token", GGUFValue.of(false));
        assertArrayEquals(new int[]{spA, 2}, v.spmTokenizer().encode("a", true, false));

        v.set("tokenizer.ggml.add_space_prefix", GGUFValue.of(false));
        // "a▁b": no bigram is a token
        assertArrayEquals(new int[]{a, sp, b}, v.spmTokenizer().encode("a b"));
        assertEquals("a b", v.spmTokenizer().decode(new int[]{a, sp, b}));
    }

    @Test
    void specialTokensPartition() {
        SyntheticVocab v = SyntheticVocab.spm(true);
        int sp = v.add("▁", -5);
        int a = v.add("a", -3);
        int b = v.add("b", -3);
        int spA = v.add("▁a", -2);
        int user = v.add("<|user|>", 0, Vocabulary.TYPE_USER_DEFINED);
        SentencePieceTokenizer t = v.spmTokenizer();
        // user-defined tokens are always split out; the text after a special token gets the space prefix again
        assertArrayEquals(new int[]{spA, user, sp, b}, t.encode("a<|user|>b", false, false));
        assertArrayEquals(new int[]{user, spA}, t.encode("<|user|>a", false, false));
        // control tokens only with parseSpecial
        assertArrayEquals(new int[]{1, spA}, t.encode("<s>a", false, true));
        assertArrayEquals(new int[]{sp, BYTE0 + '<', BYTE0 + 's', BYTE0 + '>', a}, t.encode("<s>a", false, false));
        // BOS added and also parsed: two BOS
        assertArrayEquals(new int[]{1, 1, spA}, t.encode("<s>a", true, true));
        // decoding: control tokens vanish, user-defined tokens give their text
        assertEquals("a<|user|> b", t.decode(new int[]{1, spA, user, sp, b}));
        assertEquals(0, t.tokenBytes(1).length);
        assertArrayEquals(" a".getBytes(), t.tokenBytes(spA));
        assertArrayEquals(new byte[]{(byte) 0xC3}, t.tokenBytes(BYTE0 + 0xC3));
    }

    @Test
    void phi3StripsWhitespaceAfterSpecialTokens() {
        SyntheticVocab v = SyntheticVocab.spm(true);
        int sp = v.add("▁", -5);
        v.add("a", -3);
        int spA = v.add("▁a", -2);
        int user = v.add("<|user|>", 0, Vocabulary.TYPE_CONTROL);
        assertArrayEquals(new int[]{user, sp, sp, spA}, v.spmTokenizer().encode("<|user|>  a", false, true));
        v.set("general.name", GGUFValue.of("Phi3"));
        assertArrayEquals(new int[]{user, spA}, v.spmTokenizer().encode("<|user|>  a", false, true));
    }

    @Test
    void endOfGenerationSet() {
        SyntheticVocab v = SyntheticVocab.spm(true);
        v.add("a", -3);
        int imEnd = v.add("<|im_end|>", 0); // NORMAL in the file: becomes CONTROL and EOG as in llama.cpp
        int eot = v.add("<|eot_id|>", 0, Vocabulary.TYPE_CONTROL);
        int other = v.add("<|im_start|>", 0, Vocabulary.TYPE_CONTROL);
        SentencePieceTokenizer t = v.spmTokenizer();
        assertTrue(t.isEndOfGeneration(2));
        assertTrue(t.isEndOfGeneration(imEnd));
        assertTrue(t.isControl(imEnd));
        assertTrue(t.isEndOfGeneration(eot));
        assertFalse(t.isEndOfGeneration(other));
        assertFalse(t.isEndOfGeneration(1));
        assertEquals(imEnd, t.vocabulary().eot()); // found by text: lowest id among the candidates
        assertEquals(1, t.bos());
        assertEquals(2, t.eos());

        v.set("tokenizer.ggml.eos_token_id", GGUFValue.ofU32(other));
        assertTrue(v.spmTokenizer().isEndOfGeneration(other));
        assertEquals(other, v.spmTokenizer().eos());
    }

    @Test
    void unsupportedModelsAreRejectedByName() {
        for (String model : new String[]{"bert", "t5", "rwkv"}) {
            SyntheticVocab v = SyntheticVocab.spm(false);
            v.model = model;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.fromGGUF(v.metadata()));
            assertTrue(e.getMessage().contains("'" + model + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("llama") && e.getMessage().contains("gpt2"), e.getMessage());
        }
        SyntheticVocab v = SyntheticVocab.spm(false);
        assertInstanceOf(SentencePieceTokenizer.class, Tokenizers.fromGGUF(v.metadata()));
    }

    @Test
    void badByteTokenIsReported() {
        SyntheticVocab v = SyntheticVocab.spm(false);
        v.add("<0xZZ>", 0, Vocabulary.TYPE_BYTE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, v::spmTokenizer);
        assertTrue(e.getMessage().contains("<0xZZ>"), e.getMessage());
    }
}
