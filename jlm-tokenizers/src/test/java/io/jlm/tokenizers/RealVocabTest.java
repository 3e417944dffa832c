package io.jlm.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jlm.formats.gguf.GGUFFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** SentencePiece vocabularies of real models against llama.cpp's reference tokenization (refs/manifest.json). */
class RealVocabTest {

    static Tokenizer load(String relative) throws IOException {
        Path p = SharedData.require(relative);
        try (GGUFFile f = GGUFFile.open(p)) {
            return Tokenizers.fromGGUF(f.metadata());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-2-tiny-random.gguf", "stories260K-f32.gguf"})
    void manifestPromptTokens(String model) throws IOException {
        Path manifest = SharedData.require("conformance/refs/manifest.json");
        JsonNode c = null;
        for (JsonNode n : new ObjectMapper().readTree(manifest.toFile()).get("cases")) {
            if (n.get("model").asText().equals(model)) c = n;
        }
        assertNotNull(c, "no case for " + model + " in " + manifest);
        Tokenizer t = load("conformance/models/" + model);
        assertInstanceOf(SentencePieceTokenizer.class, t);
        String text = c.get("prompt_text").asText();
        int[] want = new int[c.get("prompt_tokens").size()];
        for (int i = 0; i < want.length; i++) want[i] = c.get("prompt_tokens").get(i).asInt();
        int[] got = t.encode(text, c.get("add_bos").asBoolean(), true);
        assertArrayEquals(want, got, () -> model + "\n  expected " + Arrays.toString(want) + "\n  actual   " + Arrays.toString(got));
        assertEquals(text, t.decode(got));
    }

    @Test
    void llamaSpmRoundTripsAllTestStrings() throws IOException {
        Tokenizer t = load("conformance/tokenizers/ggml-vocab-llama-spm.gguf");
        for (String s : TokenizerConformanceTest.readInputs(SharedData.require("conformance/tokenizers/ggml-vocab-llama-spm.gguf.inp"))) {
            assertEquals(s, t.decode(t.encode(s, true, false)), () -> "round trip of " + TokenizerConformanceTest.preview(s));
        }
        assertArrayEquals(new int[]{1, 15043, 3186}, t.encode("Hello world", true, true));
        assertEquals(1, t.bos());
        assertEquals(2, t.eos());
        assertTrue(t.isEndOfGeneration(2));
        assertFalse(t.isEndOfGeneration(1));
        assertTrue(t.isControl(1));
        assertEquals("▁Hello", t.tokenText(15043));
    }

    @Test
    void phi3ChatTokens() throws IOException {
        Tokenizer t = load("conformance/tokenizers/ggml-vocab-phi-3.gguf");
        // phi-3 special ids (tokenizer_config.json): 32000 <|endoftext|>, 32001 <|assistant|>, 32007 <|end|>, 32010 <|user|>
        assertEquals("<|user|>", t.tokenText(32010));
        assertEquals("<|end|>", t.tokenText(32007));
        // llama.cpp gives phi-3's special tokens (except <s>, <unk>, <|endoftext|>) the right-strip attribute,
        // so the newlines after them vanish; "Hello" then gets the space prefix (▁Hello = 15043)
        assertArrayEquals(new int[]{1, 32010, 15043, 32007, 32001},
                t.encode("<|user|>\nHello<|end|>\n<|assistant|>", true, true));
        assertEquals(32000, t.eos());
        assertTrue(t.isEndOfGeneration(32000));
        assertTrue(t.isEndOfGeneration(32007));
        assertFalse(t.isEndOfGeneration(32001));
        assertTrue(t.isEndOfGeneration(2)); // </s>
        assertEquals("Hello", t.decode(new int[]{1, 32010, 15043, 32007, 32001}));
    }

    @Test
    void vocabOnlyFilesLoad() throws IOException {
        Tokenizer baichuan = load("conformance/tokenizers/ggml-vocab-baichuan.gguf");
        assertInstanceOf(SentencePieceTokenizer.class, baichuan);
        assertEquals(64000, baichuan.vocabSize());
        for (String s : new String[]{"Hello world", "你好，世界。", " 3.14 \n\t🦙"}) {
            int[] ids = baichuan.encode(s, true, false);
            assertEquals(1, ids[0]);
            assertEquals(s, baichuan.decode(ids));
        }
        Tokenizer neox = load("conformance/tokenizers/ggml-vocab-gpt-neox.gguf");
        assertInstanceOf(BpeTokenizer.class, neox);
        assertEquals(50432, neox.vocabSize());
        assertEquals("Hello world", neox.decode(neox.encode("Hello world")));
    }
}
