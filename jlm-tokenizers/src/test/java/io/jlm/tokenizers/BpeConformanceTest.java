package io.jlm.tokenizers;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.*;

/** Byte-level BPE against llama.cpp's tokenizer test vectors (ggml-vocab-X.gguf + .inp/.out). */
class BpeConformanceTest {

    static final String SEP = "\n__ggml_vocab_test__\n";
    private static final Map<String, BpeTokenizer> CACHE = new ConcurrentHashMap<>();

    static BpeTokenizer vocab(String family) throws IOException {
        Path gguf = SharedData.require("conformance/tokenizers/ggml-vocab-" + family + ".gguf");
        BpeTokenizer t = CACHE.get(family);
        if (t == null) {
            t = BpeTokenizer.fromGGUF(gguf);
            CACHE.put(family, t);
        }
        return t;
    }

    /** Test strings and expected ids (the .inp file is split by the separator line; the last piece is empty). */
    record Vectors(List<String> inputs, List<int[]> expected) {}

    static Vectors vectors(String family) throws IOException {
        Path inp = SharedData.require("conformance/tokenizers/ggml-vocab-" + family + ".gguf.inp");
        Path out = SharedData.require("conformance/tokenizers/ggml-vocab-" + family + ".gguf.out");
        String text = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>(Arrays.asList(text.split(SEP, -1)));
        assertEquals("", inputs.removeLast(), "inp file must end with the separator");
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(inputs.size(), lines.size(), "one expected line per test string");
        List<int[]> expected = new ArrayList<>();
        for (String l : lines) {
            String s = l.strip();
            expected.add(s.isEmpty() ? new int[0] : Arrays.stream(s.split(" +")).mapToInt(Integer::parseInt).toArray());
        }
        return new Vectors(inputs, expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "llama-bpe", "qwen2", "falcon", "deepseek-llm", "deepseek-coder", "mpt", "starcoder", "refact"})
    void matchesLlamaCppVectors(String family) throws IOException {
        BpeTokenizer tok = vocab(family);
        Vectors v = vectors(family);
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
        Vectors v = vectors(family);
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
