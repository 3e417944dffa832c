package io.jlm.tokenizers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Loads a Hugging Face {@code tokenizer.json} with a byte-level BPE model (GPT-2, Llama-3, Qwen2 style) as a
 * {@link BpeTokenizer}: {@code model.type = "BPE"} with vocab and merges ("a b" strings or [a, b] pairs),
 * {@code added_tokens} (special ones behave as control tokens, the others as user-defined tokens),
 * pre-tokenizers ByteLevel / Split / Digits / Punctuation / Sequence, an optional NFC/NFKC normalizer, a ByteLevel
 * decoder, and BOS/EOS from a TemplateProcessing post-processor.
 */
public final class HuggingFaceTokenizer {
    private HuggingFaceTokenizer() {}

    private static final List<String> EOS_CANDIDATES = List.of("<|end_of_text|>", "<|endoftext|>", "</s>", "<eos>", "<|im_end|>", "<|eot_id|>");

    public static BpeTokenizer load(Path tokenizerJson) throws IOException {
        JsonNode root = new ObjectMapper().readTree(tokenizerJson.toFile());
        return fromJson(root, tokenizerJson.toString());
    }

    public static BpeTokenizer fromJson(JsonNode root, String source) {
        JsonNode model = root.path("model");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) throw bad(source, "model.type", "'" + type + "'", "BPE");
        if (model.path("byte_fallback").asBoolean(false)) {
            throw bad(source, "model.byte_fallback", "true", "false (SentencePiece-style BPE is not supported here)");
        }
        JsonNode decoder = root.path("decoder");
        if (!decoder.isMissingNode() && !decoder.isNull() && !hasType(decoder, "ByteLevel")) {
            throw bad(source, "decoder.type", "'" + decoder.path("type").asText() + "'", "ByteLevel (byte-level BPE)");
        }

        // vocabulary + added tokens
        Map<Integer, String> byId = new HashMap<>();
        Map<Integer, Integer> types = new HashMap<>();
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject()) throw bad(source, "model.vocab", vocab.getNodeType().toString(), "an object of token -> id");
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            byId.put(e.getValue().asInt(), e.getKey());
            types.put(e.getValue().asInt(), BpeTokenizer.TYPE_NORMAL);
        }
        Map<String, Integer> added = new HashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt();
            String content = t.path("content").asText();
            byId.put(id, content);
            types.put(id, t.path("special").asBoolean(false) ? BpeTokenizer.TYPE_CONTROL : BpeTokenizer.TYPE_USER_DEFINED);
            added.put(content, id);
        }
        int n = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        String[] tokens = new String[n];
        int[] tokenTypes = new int[n];
        for (int i = 0; i < n; i++) {
            String s = byId.get(i);
            tokens[i] = s != null ? s : "[PAD" + i + "]";
            tokenTypes[i] = s != null ? types.get(i) : BpeTokenizer.TYPE_UNUSED;
        }

        // merges
        JsonNode mj = model.path("merges");
        String[] merges = new String[mj.size()];
        for (int i = 0; i < merges.length; i++) {
            JsonNode m = mj.get(i);
            if (m.isTextual()) merges[i] = m.asText();
            else if (m.isArray() && m.size() == 2) merges[i] = m.get(0).asText() + " " + m.get(1).asText();
            else throw bad(source, "model.merges[" + i + "]", m.toString(), "\"a b\" or [\"a\", \"b\"]");
        }

        // pre-tokenizer
        List<PreTokenizerHuggingFace.Step> steps = new ArrayList<>();
        addPreTokenizer(root.path("pre_tokenizer"), steps, source);
        if (steps.isEmpty()) throw bad(source, "pre_tokenizer", "none", "a splitting pre-tokenizer (ByteLevel or Split)");

        // normalizer
        UnaryOperator<String> normalizer = normalizer(root.path("normalizer"), source);

        // BOS / EOS from the post-processor
        int[] bosEos = {-1, -1};
        boolean[] addBosEos = {false, false};
        templateSpecials(root.path("post_processor"), root.path("post_processor"), added, bosEos, addBosEos);
        int eos = bosEos[1];
        if (eos < 0) {
            for (String c : EOS_CANDIDATES) {
                Integer id = added.get(c);
                if (id != null) { eos = id; break; }
            }
        }
        boolean ignoreMerges = model.path("ignore_merges").asBoolean(false);
        return new BpeTokenizer(tokens, tokenTypes, merges, new BpeTokenizer.Options(
                new PreTokenizerHuggingFace(steps), ignoreMerges, bosEos[0], eos, addBosEos[0], addBosEos[1] && bosEos[1] >= 0,
                null, null, normalizer));
    }

    private static boolean hasType(JsonNode n, String type) {
        if (type.equals(n.path("type").asText())) return true;
        if ("Sequence".equals(n.path("type").asText())) {
            for (JsonNode d : n.path("decoders")) if (hasType(d, type)) return true;
        }
        return false;
    }

    private static void addPreTokenizer(JsonNode p, List<PreTokenizerHuggingFace.Step> steps, String source) {
        if (p.isMissingNode() || p.isNull()) return;
        String type = p.path("type").asText();
        switch (type) {
            case "Sequence" -> { for (JsonNode c : p.path("pretokenizers")) addPreTokenizer(c, steps, source); }
            case "ByteLevel" -> {
                if (p.path("add_prefix_space").asBoolean(false)) {
                    throw bad(source, "pre_tokenizer ByteLevel.add_prefix_space", "true", "false");
                }
                if (p.path("use_regex").asBoolean(true)) {
                    steps.add(new PreTokenizerHuggingFace.Step(PreTokenizerHuggingFace.compile(PreTokenizerHuggingFace.BYTE_LEVEL_REGEX),
                            PreTokenizerHuggingFace.Behavior.ISOLATED));
                }
            }
            case "Split" -> {
                JsonNode pat = p.path("pattern");
                String regex;
                if (pat.has("Regex")) regex = pat.get("Regex").asText();
                else if (pat.has("String")) regex = java.util.regex.Pattern.quote(pat.get("String").asText());
                else throw bad(source, "pre_tokenizer Split.pattern", pat.toString(), "{\"Regex\": ...} or {\"String\": ...}");
                if (p.path("invert").asBoolean(false)) throw bad(source, "pre_tokenizer Split.invert", "true", "false");
                String behavior = p.path("behavior").asText("Isolated");
                PreTokenizerHuggingFace.Behavior b = switch (behavior) {
                    case "Isolated" -> PreTokenizerHuggingFace.Behavior.ISOLATED;
                    case "MergedWithPrevious" -> PreTokenizerHuggingFace.Behavior.MERGED_WITH_PREVIOUS;
                    case "MergedWithNext" -> PreTokenizerHuggingFace.Behavior.MERGED_WITH_NEXT;
                    case "Contiguous" -> PreTokenizerHuggingFace.Behavior.CONTIGUOUS;
                    default -> throw bad(source, "pre_tokenizer Split.behavior", behavior, "Isolated, MergedWithPrevious, MergedWithNext or Contiguous (Removed would drop text)");
                };
                steps.add(new PreTokenizerHuggingFace.Step(PreTokenizerHuggingFace.compile(regex), b));
            }
            case "Digits" -> steps.add(new PreTokenizerHuggingFace.Step(
                    PreTokenizerHuggingFace.compile(p.path("individual_digits").asBoolean(false) ? "\\p{N}" : "\\p{N}+"),
                    PreTokenizerHuggingFace.Behavior.ISOLATED));
            case "Punctuation" -> steps.add(new PreTokenizerHuggingFace.Step(
                    PreTokenizerHuggingFace.compile("[\\p{P}!-/:-@\\[-`{-~]"), PreTokenizerHuggingFace.Behavior.ISOLATED));
            default -> throw bad(source, "pre_tokenizer.type", "'" + type + "'", "ByteLevel, Split, Digits, Punctuation or Sequence");
        }
    }

    private static UnaryOperator<String> normalizer(JsonNode n, String source) {
        if (n.isMissingNode() || n.isNull()) return null;
        String type = n.path("type").asText();
        return switch (type) {
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Sequence" -> {
                List<UnaryOperator<String>> parts = new ArrayList<>();
                for (JsonNode c : n.path("normalizers")) {
                    UnaryOperator<String> f = normalizer(c, source);
                    if (f != null) parts.add(f);
                }
                yield s -> {
                    for (UnaryOperator<String> f : parts) s = f.apply(s);
                    return s;
                };
            }
            default -> throw bad(source, "normalizer.type", "'" + type + "'", "NFC, NFKC, NFD, NFKD or Sequence of them");
        };
    }

    /** Finds BOS/EOS in a TemplateProcessing ({@code single}: special tokens before / after sequence A). */
    private static void templateSpecials(JsonNode p, JsonNode root, Map<String, Integer> added, int[] bosEos, boolean[] add) {
        if (p.isMissingNode() || p.isNull()) return;
        switch (p.path("type").asText()) {
            case "Sequence" -> { for (JsonNode c : p.path("processors")) templateSpecials(c, root, added, bosEos, add); }
            case "TemplateProcessing" -> {
                boolean seenSeq = false;
                for (JsonNode item : p.path("single")) {
                    if (item.has("Sequence")) { seenSeq = true; continue; }
                    JsonNode st = item.path("SpecialToken");
                    if (st.isMissingNode()) continue;
                    String name = st.path("id").asText();
                    int id = -1;
                    JsonNode ids = p.path("special_tokens").path(name).path("ids");
                    if (ids.isArray() && ids.size() > 0) id = ids.get(0).asInt();
                    else if (added.containsKey(name)) id = added.get(name);
                    if (id < 0) continue;
                    if (!seenSeq) { bosEos[0] = id; add[0] = true; }
                    else { bosEos[1] = id; add[1] = true; }
                }
            }
            default -> { }
        }
    }

    private static IllegalArgumentException bad(String source, String field, String got, String expected) {
        return new IllegalArgumentException(source + ": " + field + " is " + got + "; expected " + expected);
    }
}
