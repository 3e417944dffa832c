package io.jlm.tokenizers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * tokenizer.json loading: a GGUF vocabulary is written out as a Hugging Face tokenizer.json (the way the HF
 * tokenizers for these families are configured) and must encode llama.cpp's test vectors identically.
 */
class HuggingFaceTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.util.Map<String, BpeTokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    @TempDir
    static Path tmp;

    /** Writes the family's tokenizer.json once and loads it. */
    static BpeTokenizer loadConverted(String family) throws IOException {
        BpeTokenizer t = LOADED.get(family);
        if (t == null) {
            t = HuggingFaceTokenizer.load(toTokenizerJson(family, tmp));
            LOADED.put(family, t);
        }
        return t;
    }

    static final String LLAMA3_HF = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2_HF = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Writes tokenizer.json for a GGUF test vocabulary. */
    static Path toTokenizerJson(String family, Path dir) throws IOException {
        Path gguf = SharedData.require("conformance/tokenizers/ggml-vocab-" + family + ".gguf");
        ObjectNode root = JSON.createObjectNode();
        try (GGUFFile f = GGUFFile.open(gguf)) {
            GGUFMetadata md = f.metadata();
            String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
            int[] types = md.getIntArray("tokenizer.ggml.token_type");
            String[] merges = md.getStringArray("tokenizer.ggml.merges");
            ArrayNode added = root.putArray("added_tokens");
            ObjectNode model = JSON.createObjectNode();
            model.put("type", "BPE");
            ObjectNode vocab = model.putObject("vocab");
            for (int i = 0; i < tokens.length; i++) {
                vocab.put(tokens[i], i);
                if (types != null && (types[i] == 3 || types[i] == 4)) {
                    ObjectNode a = added.addObject();
                    a.put("id", i);
                    a.put("content", tokens[i]);
                    a.put("special", types[i] == 3);
                }
            }
            ArrayNode mj = model.putArray("merges");
            boolean pairs = !family.equals("gpt-2"); // exercise both merge formats
            for (String m : merges) {
                if (pairs) {
                    int sp = m.indexOf(' ', 1);
                    mj.addArray().add(m.substring(0, sp)).add(m.substring(sp + 1));
                } else {
                    mj.add(m);
                }
            }
            ObjectNode byteLevel = JSON.createObjectNode();
            byteLevel.put("type", "ByteLevel");
            byteLevel.put("add_prefix_space", false);
            byteLevel.put("trim_offsets", true);
            switch (family) {
                case "gpt-2" -> {
                    byteLevel.put("use_regex", true);
                    root.set("pre_tokenizer", byteLevel);
                }
                case "llama-bpe", "qwen2" -> {
                    byteLevel.put("use_regex", false);
                    ObjectNode seq = root.putObject("pre_tokenizer");
                    seq.put("type", "Sequence");
                    ArrayNode list = seq.putArray("pretokenizers");
                    ObjectNode split = list.addObject();
                    split.put("type", "Split");
                    split.putObject("pattern").put("Regex", family.equals("qwen2") ? QWEN2_HF : LLAMA3_HF);
                    split.put("behavior", "Isolated");
                    split.put("invert", false);
                    list.add(byteLevel);
                    if (family.equals("llama-bpe")) {
                        model.put("ignore_merges", true);
                        ObjectNode post = root.putObject("post_processor");
                        post.put("type", "TemplateProcessing");
                        ArrayNode single = post.putArray("single");
                        single.addObject().putObject("SpecialToken").put("id", "<|begin_of_text|>").put("type_id", 0);
                        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
                        ObjectNode st = post.putObject("special_tokens").putObject("<|begin_of_text|>");
                        st.put("id", "<|begin_of_text|>");
                        st.putArray("ids").add(md.getInt("tokenizer.ggml.bos_token_id", -1));
                    } else {
                        root.putObject("normalizer").put("type", "NFC");
                    }
                }
                default -> throw new IllegalArgumentException(family);
            }
            root.putObject("decoder").put("type", "ByteLevel");
            root.set("model", model);
        }
        Path out = dir.resolve(family + "-tokenizer.json");
        JSON.writeValue(out.toFile(), root);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "llama-bpe", "qwen2"})
    void tokenizerJsonMatchesLlamaCppVectors(String family) throws IOException {
        BpeTokenizer tok = loadConverted(family);
        BpeConformanceTest.Vectors v = BpeConformanceTest.vectors(family);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < v.inputs().size(); i++) {
            String s = v.inputs().get(i);
            int[] got = tok.encode(s, false, false);
            if (!Arrays.equals(v.expected().get(i), got)) {
                failures.add("#" + i + " " + BpeConformanceTest.escape(s) + "\n   expected " + Arrays.toString(v.expected().get(i)) + "\n   got      " + Arrays.toString(got));
            }
            assertEquals(s, tok.decode(got));
        }
        assertTrue(failures.isEmpty(), family + ": " + failures.size() + " strings differ:\n" + String.join("\n", failures));
    }

    @Test
    void llama3TemplateAddsBosAndSpecialTokensParse() throws IOException {
        BpeTokenizer tok = loadConverted("llama-bpe");
        BpeTokenizer ref = BpeConformanceTest.vocab("llama-bpe");
        assertTrue(tok.addsBos());
        assertEquals(ref.bos(), tok.bos());
        String s = "<|begin_of_text|>Hello <|eot_id|> world";
        assertArrayEquals(ref.encode(s, true, true), tok.encode(s, true, true));
        assertArrayEquals(ref.encode(s, false, false), tok.encode(s, false, false));
        assertTrue(tok.isEndOfGeneration(tok.tokenId("<|eot_id|>")));
    }

    @Test
    void splitBehaviours() {
        PreTokenizer iso = new PreTokenizerHuggingFace(List.of(new PreTokenizerHuggingFace.Step(
                PreTokenizerHuggingFace.compile("-"), PreTokenizerHuggingFace.Behavior.ISOLATED)));
        assertEquals(List.of("a", "-", "-", "b"), iso.split("a--b"));
        PreTokenizer cont = new PreTokenizerHuggingFace(List.of(new PreTokenizerHuggingFace.Step(
                PreTokenizerHuggingFace.compile("-"), PreTokenizerHuggingFace.Behavior.CONTIGUOUS)));
        assertEquals(List.of("a", "--", "b", "-"), cont.split("a--b-"));
        PreTokenizer prev = new PreTokenizerHuggingFace(List.of(new PreTokenizerHuggingFace.Step(
                PreTokenizerHuggingFace.compile("-"), PreTokenizerHuggingFace.Behavior.MERGED_WITH_PREVIOUS)));
        assertEquals(List.of("a-", "-", "b"), prev.split("a--b"));
        PreTokenizer next = new PreTokenizerHuggingFace(List.of(new PreTokenizerHuggingFace.Step(
                PreTokenizerHuggingFace.compile("-"), PreTokenizerHuggingFace.Behavior.MERGED_WITH_NEXT)));
        assertEquals(List.of("a", "-", "-b"), next.split("a--b"));
    }

    @Test
    void unsupportedConfigurationsAreRejectedClearly() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("model").put("type", "Unigram");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HuggingFaceTokenizer.fromJson(root, "x.json"));
        assertTrue(e.getMessage().contains("model.type"), e.getMessage());
    }
}
