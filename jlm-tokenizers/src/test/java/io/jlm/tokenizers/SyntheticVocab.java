package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.formats.gguf.GGUFValue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds small in-memory GGUF tokenizer metadata for unit tests. */
final class SyntheticVocab {
    final List<String> tokens = new ArrayList<>();
    final List<Float> scores = new ArrayList<>();
    final List<Integer> types = new ArrayList<>();
    final Map<String, GGUFValue> extra = new LinkedHashMap<>();
    String model = "llama";

    /** SPM layout: 0 <unk>, 1 <s>, 2 </s>, then (optionally) the 256 byte tokens at 3..258. */
    static SyntheticVocab spm(boolean byteTokens) {
        SyntheticVocab v = new SyntheticVocab();
        v.add("<unk>", 0, Vocabulary.TYPE_UNKNOWN);
        v.add("<s>", 0, Vocabulary.TYPE_CONTROL);
        v.add("</s>", 0, Vocabulary.TYPE_CONTROL);
        if (byteTokens) for (int b = 0; b < 256; b++) v.add(String.format("<0x%02X>", b), 0, Vocabulary.TYPE_BYTE);
        return v;
    }

    int add(String text, float score, int type) {
        tokens.add(text);
        scores.add(score);
        types.add(type);
        return tokens.size() - 1;
    }

    int add(String text, float score) { return add(text, score, Vocabulary.TYPE_NORMAL); }

    SyntheticVocab set(String key, GGUFValue v) { extra.put(key, v); return this; }

    GGUFMetadata metadata() {
        Map<String, GGUFValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GGUFValue.of("llama"));
        m.put("tokenizer.ggml.model", GGUFValue.of(model));
        m.put("tokenizer.ggml.tokens", GGUFValue.of(tokens.toArray(String[]::new)));
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) s[i] = scores.get(i);
        m.put("tokenizer.ggml.scores", GGUFValue.of(s));
        m.put("tokenizer.ggml.token_type", GGUFValue.ofI32(types.stream().mapToInt(Integer::intValue).toArray()));
        m.putAll(extra);
        return new GGUFMetadata(m, "synthetic");
    }

    SentencePieceTokenizer spmTokenizer() { return new SentencePieceTokenizer(metadata()); }
}
