package io.jlm.tokenizers;

import io.jlm.core.SharedData;
import io.jlm.formats.gguf.GGUFValue;
import io.jlm.tokenizers.Vocabulary.Fragment;
import io.jlm.tokenizers.Vocabulary.Text;
import io.jlm.tokenizers.Vocabulary.Token;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class VocabularyTest {

    @Test
    void partitionPrefersLongerTokensAndKeepsOrder() {
        SyntheticVocab s = SyntheticVocab.spm(false);
        int a = s.add("<a>", 0, Vocabulary.TYPE_USER_DEFINED);
        int ab = s.add("<a><b>", 0, Vocabulary.TYPE_USER_DEFINED);
        int ctl = s.add("<c>", 0, Vocabulary.TYPE_CONTROL);
        Vocabulary v = Vocabulary.fromGGUF(s.metadata());
        assertEquals(List.<Fragment>of(new Text("x"), new Token(ab), new Text("y"), new Token(a), new Token(a), new Text("<c>")),
                v.partition("x<a><b>y<a><a><c>", false));
        assertEquals(List.<Fragment>of(new Token(ctl), new Text(" "), new Token(1), new Token(2)),
                v.partition("<c> <s></s>", true));
        assertEquals(List.of(), v.partition("", true));
        assertEquals(List.<Fragment>of(new Text("plain")), v.partition("plain", true));
    }

    @Test
    void leftStripForJinaMask() {
        SyntheticVocab s = SyntheticVocab.spm(false);
        int mask = s.add("<mask>", 0, Vocabulary.TYPE_CONTROL);
        s.set("tokenizer.ggml.pre", GGUFValue.of("jina-v2-es"));
        Vocabulary v = Vocabulary.fromGGUF(s.metadata());
        assertEquals(List.<Fragment>of(new Text("a"), new Token(mask), new Text(" b")), v.partition("a \t<mask> b", true));
    }

    @Test
    void defaultsPerModel() {
        SyntheticVocab s = SyntheticVocab.spm(false);
        Vocabulary llama = Vocabulary.fromGGUF(s.metadata());
        assertTrue(llama.addBos());
        assertFalse(llama.addEos());
        assertTrue(llama.addSpacePrefix());
        assertEquals(0, llama.unk());
        s.set("tokenizer.ggml.bos_token_id", GGUFValue.ofU32(99_999)); // out of range: default kept
        assertEquals(1, Vocabulary.fromGGUF(s.metadata()).bos());

        SyntheticVocab g = SyntheticVocab.spm(false);
        for (int i = 0; i < 20; i++) g.add("t" + i, 0);
        g.model = "gpt2";
        Vocabulary gpt2 = Vocabulary.fromGGUF(g.metadata());
        assertFalse(gpt2.addBos());
        assertFalse(gpt2.addSpacePrefix());
        assertEquals(11, gpt2.bos());
        assertEquals(-1, gpt2.unk());
        g.set("tokenizer.ggml.pre", GGUFValue.of("llama-bpe"));
        assertTrue(Vocabulary.fromGGUF(g.metadata()).addBos());
    }

    @Test
    void qwen2EndOfGeneration() throws IOException {
        Vocabulary v = Vocabulary.fromGGUF(VocabTestData.metadata(SharedData.require("conformance/tokenizers/ggml-vocab-qwen2.gguf")));
        int endOfText = v.id("<|endoftext|>"), imStart = v.id("<|im_start|>"), imEnd = v.id("<|im_end|>");
        assertEquals(151643, endOfText);
        assertEquals(151644, imStart);
        assertEquals(151645, imEnd);
        assertTrue(v.isEndOfGeneration(endOfText));
        assertTrue(v.isEndOfGeneration(imEnd));
        assertFalse(v.isEndOfGeneration(imStart));
        assertTrue(v.isControl(imStart) && v.isControl(imEnd));
        assertEquals(List.<Fragment>of(new Token(imStart), new Text("user\nhi"), new Token(imEnd)),
                v.partition("<|im_start|>user\nhi<|im_end|>", true));
        assertEquals(List.<Fragment>of(new Text("<|im_start|>user")), v.partition("<|im_start|>user", false));
    }

    @Test
    void harmonyEndIsNotEndOfGenerationAndMarkersAreUserDefined() {
        SyntheticVocab s = SyntheticVocab.spm(false);
        int end = s.add("<|end|>", 0, Vocabulary.TYPE_CONTROL);
        int ret = s.add("<|return|>", 0, Vocabulary.TYPE_CONTROL);
        int call = s.add("<|call|>", 0, Vocabulary.TYPE_CONTROL);
        int channel = s.add("<|channel|>", 0, Vocabulary.TYPE_CONTROL);
        int eosText = s.add("<eos>", 0, Vocabulary.TYPE_NORMAL);
        Vocabulary v = Vocabulary.fromGGUF(s.metadata());
        assertFalse(v.isEndOfGeneration(end));
        assertTrue(v.isUserDefined(end));
        assertTrue(v.isEndOfGeneration(ret) && v.isEndOfGeneration(call));
        assertTrue(v.isUserDefined(channel));
        assertTrue(v.isEndOfGeneration(eosText) && v.isControl(eosText)); // control-looking text becomes CONTROL
        assertTrue(v.isEndOfGeneration(2) && v.isControl(2)); // </s>

        SyntheticVocab plain = SyntheticVocab.spm(false);
        int end2 = plain.add("<|end|>", 0, Vocabulary.TYPE_CONTROL);
        assertTrue(Vocabulary.fromGGUF(plain.metadata()).isEndOfGeneration(end2));
    }

    @Test
    void directBpeVocabularyHasNoModelDefaults() {
        String[] tokens = new String[20];
        int[] types = new int[20];
        for (int i = 0; i < 20; i++) { tokens[i] = "t" + i; types[i] = Vocabulary.TYPE_NORMAL; }
        tokens[5] = "<|im_end|>";
        tokens[7] = "";
        Vocabulary v = Vocabulary.ofBpe("test.json", tokens, types, -1, -1, false, false);
        assertEquals(-1, v.bos()); // a GGUF gpt2 vocabulary would default to 11
        assertEquals(-1, v.eos());
        assertEquals("gpt2", v.model());
        assertTrue(v.isEndOfGeneration(5) && v.isControl(5));
        assertEquals("[EMPTY_7]", v.text(7));
        assertEquals(7, v.id("[EMPTY_7]"));
        assertEquals(3, v.id("xt3y", 1, 3));
        assertEquals(-1, v.id("t3", 0, 1));
        Vocabulary w = Vocabulary.ofBpe("test.json", tokens, types, 3, 4, true, true);
        assertEquals(3, w.bos());
        assertTrue(w.addBos() && w.addEos());
        assertTrue(w.isEndOfGeneration(4));
    }

    @Test
    void laterDuplicateTextWins() {
        SyntheticVocab s = SyntheticVocab.spm(false);
        s.add("dup", 0);
        int second = s.add("dup", 0);
        assertEquals(second, Vocabulary.fromGGUF(s.metadata()).id("dup"));
    }
}
