package io.jlm.tokenizers;

import io.jlm.core.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Byte-level BPE against llama.cpp's tokenizer test vectors (ggml-vocab-X.gguf + .inp/.out). */
class BpeConformanceTest {

    static BpeTokenizer vocab(String family) {
        return (BpeTokenizer) VocabTestData.tokenizer("conformance/tokenizers/ggml-vocab-" + family + ".gguf");
    }

    static VocabTestData.Vectors vectors(String family) throws IOException {
        VocabTestData.Vectors v = VocabTestData.vectors(family);
        assertEquals(v.inputs().size(), v.expected().size(), "one expected line per test string");
        return v;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "llama-bpe", "qwen2", "falcon", "deepseek-llm", "deepseek-coder", "mpt", "starcoder", "refact"})
    void matchesLlamaCppVectors(String family) throws IOException {
        BpeTokenizer tok = vocab(family);
        VocabTestData.Vectors v = vectors(family);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < v.inputs().size(); i++) {
            String s = v.inputs().get(i);
            int[] got = tok.encode(s, false, false);
            if (!Arrays.equals(v.expected().get(i), got)) {
                failures.add("#" + i + " " + escape(s) + "\n   expected " + Arrays.toString(v.expected().get(i)) + "\n   got      " + Arrays.toString(got));
            }
        }
        assertTrue(failures.isEmpty(), family + ": " + failures.size() + " of " + v.inputs().size() + " strings differ:\n" + String.join("\n", failures));
        assertTrue(v.inputs().size() >= 40, "expected the full vector set");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "llama-bpe", "qwen2", "falcon", "deepseek-llm", "deepseek-coder", "mpt", "starcoder", "refact"})
    void decodeRoundTrips(String family) throws IOException {
        BpeTokenizer tok = vocab(family);
        VocabTestData.Vectors v = vectors(family);
        for (String s : v.inputs()) {
            assertEquals(s, tok.decode(tok.encode(s)), () -> family + ": round trip of " + escape(s));
        }
    }

    @Test
    void gptNeoxVocabularyLoadsAndRoundTrips() throws IOException {
        BpeTokenizer tok = vocab("gpt-neox");
        String s = "Hello world! 3333 tokens\n\n  indented\tdone 🦙";
        int[] ids = tok.encode(s);
        assertTrue(ids.length > 5);
        assertEquals(s, tok.decode(ids));
    }

    @Test
    void factoryBuildsBpeForGpt2Model() throws IOException {
        Tokenizer t = Tokenizers.fromGGUF(SharedData.require("conformance/tokenizers/ggml-vocab-gpt-2.gguf"));
        assertInstanceOf(BpeTokenizer.class, t);
        assertArrayEquals(new int[]{15496, 995}, t.encode("Hello world"));
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("'");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                default -> sb.append(c);
            }
        }
        return sb.append("'").toString();
    }
}
