package io.jlm.tokenizers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.formats.gguf.GGUFValue;
import io.jlm.formats.gguf.GGUFWriter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level BPE vocabulary as produced by {@link BpeTrainer}: token texts (normal tokens in GPT-2 byte characters,
 * special tokens as plain text), GGUF token types, merges ({@code "left right"} in rank order) and the llama.cpp
 * pre-tokenizer name. It can be written as a vocabulary-only GGUF file ({@link #writeGGUF}) that
 * {@link Tokenizers#fromGGUF(Path)} loads, or as a Hugging Face {@code tokenizer.json} ({@link #writeHuggingFaceJson})
 * that {@link HuggingFaceTokenizer} loads.
 *
 * @param bos           BOS token id (also EOS by default: the first special token)
 * @param eos           EOS token id
 * @param distinctWords number of distinct pre-tokenized words the vocabulary was trained on (0 if unknown)
 * @param trainingBytes UTF-8 bytes of training text (0 if unknown)
 */
public record TrainedBpe(String[] tokens, int[] types, String[] merges, String pre, int bos, int eos,
                         int distinctWords, long trainingBytes) {

    public TrainedBpe {
        if (tokens.length != types.length) {
            throw new IllegalArgumentException("tokens (" + tokens.length + ") and types (" + types.length + ") differ in length");
        }
        if (bos < 0 || bos >= tokens.length || eos < 0 || eos >= tokens.length) {
            throw new IllegalArgumentException("BOS " + bos + " / EOS " + eos + " outside the vocabulary [0, " + tokens.length + ")");
        }
        PreTokenizerType.forName(pre); // validates
    }

    public int size() { return tokens.length; }

    /** The GGUF metadata ({@code tokenizer.ggml.*}, {@code general.name}) of this vocabulary. */
    public Map<String, GGUFValue> ggufMetadata(String name) {
        Map<String, GGUFValue> m = new LinkedHashMap<>();
        m.put("general.name", GGUFValue.of(name));
        m.put("tokenizer.ggml.model", GGUFValue.of("gpt2"));
        m.put("tokenizer.ggml.pre", GGUFValue.of(pre));
        m.put("tokenizer.ggml.tokens", GGUFValue.of(tokens.clone()));
        m.put("tokenizer.ggml.token_type", GGUFValue.ofI32(types.clone()));
        m.put("tokenizer.ggml.merges", GGUFValue.of(merges.clone()));
        m.put("tokenizer.ggml.bos_token_id", GGUFValue.ofU32(bos));
        m.put("tokenizer.ggml.eos_token_id", GGUFValue.ofU32(eos));
        m.put("tokenizer.ggml.add_bos_token", GGUFValue.of(false));
        m.put("tokenizer.ggml.add_eos_token", GGUFValue.of(false));
        return m;
    }

    /**
     * Writes a vocabulary-only GGUF file (metadata, no tensors) in the style of llama.cpp's {@code ggml-vocab-*.gguf}
     * files: besides the tokenizer it declares {@code general.architecture = "gpt2"} with placeholder
     * hyper-parameters, which llama.cpp needs to open the file with {@code vocab_only} (e.g. {@code llama-tokenize});
     * the file holds no weights. A model exporter should embed {@link #ggufMetadata} instead.
     */
    public void writeGGUF(Path path, String name) throws IOException {
        GGUFWriter w = new GGUFWriter();
        w.putString("general.architecture", "gpt2");
        for (Map.Entry<String, GGUFValue> e : ggufMetadata(name).entrySet()) w.put(e.getKey(), e.getValue());
        w.putU32("gpt2.block_count", 1);
        w.putU32("gpt2.context_length", 1024);
        w.putU32("gpt2.embedding_length", 64);
        w.putU32("gpt2.feed_forward_length", 256);
        w.putU32("gpt2.attention.head_count", 1);
        w.putF32("gpt2.attention.layer_norm_epsilon", 1e-5f);
        w.write(path);
    }

    /** The tokenizer this vocabulary describes (built from its GGUF metadata, exactly as a loaded file would be). */
    public BpeTokenizer tokenizer() {
        return BpeTokenizer.fromGGUF(new GGUFMetadata(ggufMetadata("trained"), "trained BPE"), "trained BPE");
    }

    /** A Hugging Face {@code tokenizer.json} (BPE model, ByteLevel pre-tokenizer and decoder, special tokens as added tokens). */
    public ObjectNode huggingFaceJson() {
        if (!pre.equals("gpt-2")) {
            throw new IllegalStateException("tokenizer.json export supports the gpt-2 pre-tokenizer (ByteLevel) only; this vocabulary uses '" + pre + "'");
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < tokens.length; i++) {
            if (types[i] != Vocabulary.TYPE_CONTROL) continue;
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", tokens[i]);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pt = root.putObject("pre_tokenizer");
        pt.put("type", "ByteLevel");
        pt.put("add_prefix_space", false);
        pt.put("trim_offsets", true);
        pt.put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "ByteLevel");
        post.put("add_prefix_space", false);
        post.put("trim_offsets", false);
        post.put("use_regex", true);
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", false);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < tokens.length; i++) vocab.put(tokens[i], i);
        ArrayNode mj = model.putArray("merges");
        for (String m : merges) mj.add(m);
        return root;
    }

    /** Writes {@link #huggingFaceJson()} (temp file + rename). */
    public void writeHuggingFaceJson(Path path) throws IOException {
        byte[] json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(huggingFaceJson());
        Path dir = path.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, path.getFileName().toString(), ".tmp");
        try {
            Files.write(tmp, json);
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    // ---- reference encoder ---------------------------------------------------------------------------------------

    /**
     * A deliberately simple encoder over strings, independent of {@link BpeTokenizer}'s heap and symbol tables:
     * pre-tokenize, then in each word repeatedly merge the adjacent pair of lowest merge rank (leftmost on ties)
     * until no pair has a merge; for pre-tokenizer types with {@code ignore_merges} (e.g. {@code llama-bpe}) a word
     * that is itself a token is emitted whole. Special tokens in the text are not recognised (plain text only). Quadratic per word;
     * meant for tests and for checking a trained vocabulary.
     */
    public int[] referenceEncode(String text) {
        Map<String, Integer> rank = new HashMap<>();
        for (int r = 0; r < merges.length; r++) rank.putIfAbsent(merges[r], r);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < tokens.length; i++) if (types[i] == Vocabulary.TYPE_NORMAL) ids.put(tokens[i], i);
        Map<String, int[]> cache = new HashMap<>();
        List<Integer> out = new ArrayList<>();
        PreTokenizerType type = PreTokenizerType.forName(pre);
        for (String word : type.preTokenizer().split(text)) {
            int[] enc = cache.computeIfAbsent(word, wd -> {
                byte[] b = wd.getBytes(StandardCharsets.UTF_8);
                if (type.ignoreMerges()) {
                    Integer whole = ids.get(BpeByteEncoding.encode(b, 0, b.length));
                    if (whole != null) return new int[]{whole};
                }
                List<String> s = new ArrayList<>();
                for (byte x : b) s.add(String.valueOf(BpeByteEncoding.byteToChar(x)));
                while (s.size() > 1) {
                    int best = -1, bestRank = Integer.MAX_VALUE;
                    for (int i = 0; i + 1 < s.size(); i++) {
                        Integer r = rank.get(s.get(i) + " " + s.get(i + 1));
                        if (r != null && r < bestRank) { bestRank = r; best = i; }
                    }
                    if (best < 0) break;
                    s.set(best, s.get(best) + s.get(best + 1));
                    s.remove(best + 1);
                }
                int[] r = new int[s.size()];
                for (int i = 0; i < r.length; i++) {
                    Integer id = ids.get(s.get(i));
                    if (id == null) throw new IllegalStateException("merged symbol '" + s.get(i) + "' is not a token");
                    r[i] = id;
                }
                return r;
            });
            for (int t : enc) out.add(t);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
