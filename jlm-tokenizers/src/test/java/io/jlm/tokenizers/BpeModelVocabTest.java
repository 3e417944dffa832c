package io.jlm.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/** Real Llama-3 / Qwen2 vocabularies inside model files, against llama.cpp's prompt tokens in the manifest. */
class BpeModelVocabTest {
    private static final Map<String, BpeTokenizer> CACHE = new ConcurrentHashMap<>();

    static BpeTokenizer model(String file) throws IOException {
        Path p = SharedData.require("conformance/models/" + file);
        BpeTokenizer t = CACHE.get(file);
        if (t == null) {
            t = BpeTokenizer.fromGGUF(p);
            CACHE.put(file, t);
        }
        return t;
    }

    @ParameterizedTest
    @ValueSource(strings = {"synth-llama3-q8_0.gguf", "synth-qwen2-q8_0.gguf"})
    void promptTokensMatchManifest(String file) throws IOException {
        BpeTokenizer tok = model(file);
        JsonNode manifest = new ObjectMapper().readTree(SharedData.require("conformance/refs/manifest.json").toFile());
        JsonNode c = null;
        for (JsonNode n : manifest.get("cases")) if (n.get("model").asText().equals(file)) c = n;
        assertNotNull(c, "manifest has no case for " + file);
        String text = c.get("prompt_text").asText();
        boolean addBos = c.get("add_bos").asBoolean();
        JsonNode pt = c.get("prompt_tokens");
        int[] expected = IntStream.range(0, pt.size()).map(i -> pt.get(i).asInt()).toArray();
        assertEquals(addBos, tok.addsBos(), "add_bos");
        assertArrayEquals(expected, tok.encode(text, true, true));
        assertArrayEquals(expected, tok.encode(text, true, false));
        int from = addBos ? 1 : 0;
        assertEquals(text, tok.decode(java.util.Arrays.copyOfRange(expected, from, expected.length)));
        if (addBos) assertEquals(tok.bos(), expected[0]);
    }

    @Test
    void llama3SpecialTokens() throws IOException {
        BpeTokenizer tok = model("synth-llama3-q8_0.gguf");
        int bot = tok.tokenId("<|begin_of_text|>"), eot = tok.tokenId("<|eot_id|>"), sh = tok.tokenId("<|start_header_id|>");
        assertEquals(128000, bot);
        assertEquals(128009, eot);
        assertEquals(bot, tok.bos());
        assertTrue(tok.isControl(eot));
        assertTrue(tok.isEndOfGeneration(eot));
        assertTrue(tok.isEndOfGeneration(tok.eos()));
        assertFalse(tok.isEndOfGeneration(tok.tokenId("Hello")));
        String s = "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>";
        int[] ids = tok.encode(s, true, true);
        int[] user = tok.encode("user"), body = tok.encode("\n\nHi there");
        int[] expected = IntStream.concat(IntStream.of(bot, sh), IntStream.concat(IntStream.of(user),
                IntStream.concat(IntStream.of(tok.tokenId("<|end_header_id|>")), IntStream.concat(IntStream.of(body), IntStream.of(eot))))).toArray();
        assertArrayEquals(expected, ids);
        // without parse_special the markers are plain text
        int[] plain = tok.encode(s, false, false);
        assertTrue(IntStream.of(plain).noneMatch(t -> t == eot || t == sh));
        assertEquals(s, tok.decode(plain));
        // control tokens decode to nothing
        assertEquals("user\n\nHi there", tok.decode(ids));
        assertEquals(0, tok.tokenBytes(eot).length);
    }

    @Test
    void qwen2ChatMarkers() throws IOException {
        BpeTokenizer tok = model("synth-qwen2-q8_0.gguf");
        int start = tok.tokenId("<|im_start|>"), end = tok.tokenId("<|im_end|>");
        assertEquals(151644, start);
        assertEquals(151645, end);
        assertFalse(tok.addsBos());
        assertTrue(tok.isEndOfGeneration(end));
        assertTrue(tok.isEndOfGeneration(tok.tokenId("<|endoftext|>")));
        int[] ids = tok.encode("<|im_start|>user\nhello<|im_end|>\n", true, true);
        assertEquals(start, ids[0]);
        assertEquals(end, ids[ids.length - 2]);
        assertEquals("user\nhello\n", tok.decode(ids));
    }

    @Test
    void encodesAMegabyteQuickly() throws IOException {
        BpeTokenizer tok = model("synth-llama3-q8_0.gguf");
        String text = Files.readString(SharedData.require("corpora/tinyshakespeare.txt"), StandardCharsets.UTF_8);
        tok.encode(text.substring(0, 20_000)); // warm up
        long t0 = System.nanoTime();
        int[] ids = tok.encode(text);
        double sec = (System.nanoTime() - t0) / 1e9;
        System.out.printf("llama3 BPE: %d chars -> %d tokens in %.2f s%n", text.length(), ids.length, sec);
        assertTrue(sec < 10, "encoding 1 MB took " + sec + " s");
        assertTrue(ids.length > text.length() / 8 && ids.length < text.length() / 2, "token count " + ids.length);
        assertEquals(text, tok.decode(ids));
    }
}
