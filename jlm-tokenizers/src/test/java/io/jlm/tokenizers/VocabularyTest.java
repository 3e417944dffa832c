package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
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
        Vocabulary v;
        try (GGUFFile f = GGUFFile.open(SharedData.require("conformance/tokenizers/ggml-vocab-qwen2.gguf"))) {
            v = Vocabulary.fromGGUF(f.metadata());
        }
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
}
