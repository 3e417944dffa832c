package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.formats.gguf.GGUFValue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The vocabulary part of a GGUF tokenizer, shared by all tokenizer algorithms: token texts, scores and types,
 * the special token ids, the BOS/EOS/space-prefix flags, the end-of-generation set, and the partitioning of
 * text around special tokens. It follows llama.cpp's {@code llama_vocab::load}:
 * <ul>
 *   <li>per-model defaults ({@code llama}: BOS 1, EOS 2, UNK 0, add BOS, add space prefix;
 *       {@code gpt2}: BOS = EOS = 11, no UNK, add BOS / no BOS as the pre-tokenizer type says ({@link PreTokenizerType})),
 *       overridden by {@code tokenizer.ggml.*_token_id}, {@code add_bos_token}, {@code add_eos_token},
 *       {@code add_space_prefix};</li>
 *   <li>tokens whose text marks them as end-of-turn / end-of-message / fill-in-the-middle tokens
 *       ({@code <|eot_id|>}, {@code <|im_end|>}, {@code <|fim_prefix|>}, ...) are made CONTROL tokens;</li>
 *   <li>the end-of-generation set: EOS, EOT, EOM, FIM pad/repo/sep and every token whose text is one of
 *       {@link #EOG_TEXTS} (made CONTROL too), except {@code <|end|>} in gpt-oss/solar-open style vocabularies;
 *       the gpt-oss markers {@link #USER_DEFINED_TEXTS} become USER_DEFINED tokens;</li>
 *   <li>special-token partitioning ({@link #partition}): CONTROL, USER_DEFINED and UNKNOWN tokens, longest text
 *       first; control and unknown tokens only when {@code parseSpecial}; phi-3 style right-strip of whitespace.</li>
 * </ul>
 * Instances are immutable and thread-safe.
 */
public final class Vocabulary {

    /** Token types of {@code tokenizer.ggml.token_type} (llama.cpp's {@code llama_token_type}). */
    public static final int TYPE_UNDEFINED = 0, TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3,
            TYPE_USER_DEFINED = 4, TYPE_UNUSED = 5, TYPE_BYTE = 6;

    /** Token texts that end generation (llama.cpp's list); such tokens are also made CONTROL tokens. */
    public static final List<String> EOG_TEXTS = List.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
            "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
            "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[");

    /** Token texts that are always rendered (gpt-oss): made USER_DEFINED tokens. */
    public static final List<String> USER_DEFINED_TEXTS = List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>");

    private static final List<String> EOT_TEXTS = List.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>",
            "<｜end▁of▁sentence｜>", "<end_of_utterance>");
    private static final List<String> EOM_TEXTS = List.of("<|eom_id|>");
    private static final List<String> FIM_PRE_TEXTS = List.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
            "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>");
    private static final List<String> FIM_SUF_TEXTS = List.of("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
            "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>");
    private static final List<String> FIM_MID_TEXTS = List.of("<|fim_middle|>", "<fim-middle>", "<fim_middle>",
            "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>");
    private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");
    private static final List<String> FIM_REP_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");
    private static final List<String> FIM_SEP_TEXTS = List.of("<|file_sep|>");

    /** One piece of partitioned text: either raw text still to be tokenized, or a special token. */
    public sealed interface Fragment permits Text, Token {}
    /** Raw text (never empty). */
    public record Text(String text) implements Fragment {}
    /** A special token matched in the text. */
    public record Token(int id) implements Fragment {}

    private final String source;
    private final String model;
    private final String pre;
    private final String[] tokens;
    private final float[] scores;
    private final int[] types;
    /** Open-addressing index text -> id + 1 (0 = empty slot), by {@link String#hashCode}; see {@link #find}. */
    private final int[] index;
    private final int bos, eos, unk, sep, pad, mask, eot, eom;
    private final int fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep;
    private final boolean addBos, addEos, addSpacePrefix;
    private final BitSet eog = new BitSet();
    private final BitSet lstrip = new BitSet();
    private final BitSet rstrip = new BitSet();
    /** CONTROL, USER_DEFINED and UNKNOWN token ids, longest text (in UTF-8 bytes) first, then by id. */
    private final int[] specialTokens;

    /**
     * Builds the vocabulary from the {@code tokenizer.ggml.*} metadata of a GGUF file.
     * @throws IllegalArgumentException when the token list is missing or the arrays disagree in length
     */
    public static Vocabulary fromGGUF(GGUFMetadata md) {
        return new Vocabulary(md, sourceName(md), true);
    }

    /** As {@link #fromGGUF(GGUFMetadata)}, naming the vocabulary {@code source} in messages. */
    public static Vocabulary fromGGUF(GGUFMetadata md, String source) {
        return new Vocabulary(md, source, true);
    }

    /**
     * A byte-level BPE ("gpt2") vocabulary given directly (e.g. from a Hugging Face {@code tokenizer.json}): no
     * per-model default ids or flags apply, the text-based rules (control tokens, end-of-generation set) do.
     * @param types GGUF token types ({@link #TYPE_NORMAL}, ...), one per token
     * @param bos   BOS id, or -1 for none
     * @param eos   EOS id, or -1 for none
     */
    public static Vocabulary ofBpe(String source, String[] tokens, int[] types, int bos, int eos, boolean addBos, boolean addEos) {
        Map<String, GGUFValue> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", GGUFValue.of("gpt2"));
        m.put("tokenizer.ggml.tokens", GGUFValue.of(tokens));
        m.put("tokenizer.ggml.token_type", GGUFValue.ofI32(types));
        if (bos >= 0) m.put("tokenizer.ggml.bos_token_id", GGUFValue.ofU32(bos));
        if (eos >= 0) m.put("tokenizer.ggml.eos_token_id", GGUFValue.ofU32(eos));
        m.put("tokenizer.ggml.add_bos_token", GGUFValue.of(addBos));
        m.put("tokenizer.ggml.add_eos_token", GGUFValue.of(addEos));
        return new Vocabulary(new GGUFMetadata(m, source), source, false);
    }

    private Vocabulary(GGUFMetadata md, String source, boolean modelDefaults) {
        this.source = source;
        this.model = md.getString("tokenizer.ggml.model", "");
        this.pre = md.getString("tokenizer.ggml.pre", "");
        String[] list = md.getStringArray("tokenizer.ggml.tokens");
        if (list == null || list.length == 0) {
            throw new IllegalArgumentException(source + ": metadata 'tokenizer.ggml.tokens' is missing or empty; "
                    + "expected an array of token strings");
        }
        int n = list.length;
        this.tokens = list.clone();
        float[] sc = md.getFloatArray("tokenizer.ggml.scores");
        if (sc != null && sc.length != n) {
            throw new IllegalArgumentException(source + ": metadata 'tokenizer.ggml.scores' has " + sc.length
                    + " entries; expected " + n + " (one per token)");
        }
        this.scores = sc == null ? new float[n] : sc.clone();
        int[] ty = md.getIntArray("tokenizer.ggml.token_type");
        if (ty != null && ty.length != n) {
            throw new IllegalArgumentException(source + ": metadata 'tokenizer.ggml.token_type' has " + ty.length
                    + " entries; expected " + n + " (one per token)");
        }
        this.types = new int[n];
        for (int i = 0; i < n; i++) {
            int t = ty == null ? TYPE_NORMAL : ty[i];
            types[i] = (t >= TYPE_UNDEFINED && t <= TYPE_BYTE) ? t : TYPE_UNDEFINED;
        }
        this.index = new int[Integer.highestOneBit(Math.max(8, 2 * n - 1)) << 1];
        int mask = index.length - 1;
        for (int i = 0; i < n; i++) {
            if (tokens[i] == null || tokens[i].isEmpty()) tokens[i] = "[EMPTY_" + i + "]";
            String t = tokens[i];
            int slot = mix(t.hashCode()) & mask;
            while (index[slot] != 0 && !tokens[index[slot] - 1].equals(t)) slot = (slot + 1) & mask;
            index[slot] = i + 1; // a later duplicate wins, as in llama.cpp
        }

        // per-model defaults
        int dBos = -1, dEos = -1, dUnk = -1, dSep = -1, dPad = -1, dMask = -1;
        boolean dAddBos = false, dAddEos = false, dSpace = false;
        if (modelDefaults) {
            switch (model) {
                case "llama" -> { dBos = 1; dEos = 2; dUnk = 0; dAddBos = true; dSpace = true; }
                case "gpt2" -> {
                    dBos = 11; dEos = 11;
                    PreTokenizerType pt = PreTokenizerType.forNameOrNull(pre);
                    if (pt != null) {
                        dAddBos = pt.addBos();
                        if (pt.noBos()) dBos = -1;
                    }
                }
                case "bert" -> { dBos = 101; dUnk = 100; dSep = 102; dPad = 0; dMask = 103; dAddBos = true; }
                case "t5" -> { dEos = 1; dUnk = 2; dPad = 0; dAddEos = true; }
                default -> { }
            }
        }
        this.bos = specialId(md, "tokenizer.ggml.bos_token_id", dBos);
        this.eos = specialId(md, "tokenizer.ggml.eos_token_id", dEos);
        this.unk = specialId(md, "tokenizer.ggml.unknown_token_id", dUnk);
        this.sep = specialId(md, "tokenizer.ggml.seperator_token_id", dSep);
        this.pad = specialId(md, "tokenizer.ggml.padding_token_id", dPad);
        this.mask = specialId(md, "tokenizer.ggml.mask_token_id", dMask);
        this.addBos = md.getBoolean("tokenizer.ggml.add_bos_token", dAddBos);
        this.addEos = md.getBoolean("tokenizer.ggml.add_eos_token", dAddEos);
        this.addSpacePrefix = md.getBoolean("tokenizer.ggml.add_space_prefix", dSpace);

        // ids given in the metadata, else found by text (and then forced to CONTROL, as llama.cpp does)
        this.eot = specialIdOrText(md, "tokenizer.ggml.eot_token_id", EOT_TEXTS);
        this.eom = specialIdOrText(md, "tokenizer.ggml.eom_token_id", EOM_TEXTS);
        this.fimPre = specialIdOrText(md, firstKey(md, "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"), FIM_PRE_TEXTS);
        this.fimSuf = specialIdOrText(md, firstKey(md, "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"), FIM_SUF_TEXTS);
        this.fimMid = specialIdOrText(md, firstKey(md, "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"), FIM_MID_TEXTS);
        this.fimPad = specialIdOrText(md, "tokenizer.ggml.fim_pad_token_id", FIM_PAD_TEXTS);
        this.fimRep = specialIdOrText(md, "tokenizer.ggml.fim_rep_token_id", FIM_REP_TEXTS);
        this.fimSep = specialIdOrText(md, "tokenizer.ggml.fim_sep_token_id", FIM_SEP_TEXTS);

        // end-of-generation set
        for (int id : new int[]{fimPad, fimRep, fimSep}) if (id >= 0) eog.set(id);
        for (String t : EOG_TEXTS) {
            int id = id(t);
            if (id >= 0) { eog.set(id); types[id] = TYPE_CONTROL; }
        }
        for (String t : USER_DEFINED_TEXTS) {
            int id = id(t);
            if (id >= 0) types[id] = TYPE_USER_DEFINED;
        }
        for (int id : new int[]{eos, eot, eom}) if (id >= 0) eog.set(id);
        // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation
        int end = id("<|end|>");
        if (end >= 0 && ((id("<|return|>") >= 0 && id("<|call|>") >= 0) || (id("<|calls|>") >= 0 && id("<|flush|>") >= 0))) {
            eog.clear(end);
            types[end] = TYPE_USER_DEFINED;
        }

        // special-token cache: longest text first (UTF-8 length, as llama.cpp sorts std::string sizes)
        List<int[]> special = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int t = types[i];
            if (t == TYPE_CONTROL || t == TYPE_USER_DEFINED || t == TYPE_UNKNOWN) {
                special.add(new int[]{i, utf8Length(tokens[i])});
            }
        }
        special.sort(Comparator.<int[]>comparingInt(a -> -a[1]).thenComparingInt(a -> a[0]));
        this.specialTokens = special.stream().mapToInt(a -> a[0]).toArray();

        // per-token strip attributes that llama.cpp sets by model name
        String name = md.getString("general.name", "").toLowerCase(Locale.ROOT);
        String arch = md.getString("general.architecture", "");
        if (pre.contains("jina-v2-de") || pre.contains("jina-v2-es") || pre.contains("jina-v2-code")
                || arch.contains("nomic-bert-moe") || arch.contains("jina-bert-v3")) {
            int m = id("<mask>");
            if (m >= 0) lstrip.set(m);
        } else if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : specialTokens) rstrip.set(id);
            int s = id("</s>");
            if (s >= 0) rstrip.set(s);
            for (String t : new String[]{"<unk>", "<s>", "<|endoftext|>"}) {
                int id = id(t);
                if (id >= 0) rstrip.clear(id);
            }
        }
    }

    private static String sourceName(GGUFMetadata md) {
        // GGUFMetadata keeps its source only for messages; general.name is the best we can show otherwise
        String n = md.getString("general.name", null);
        return n == null ? "GGUF tokenizer" : "GGUF tokenizer of '" + n + "'";
    }

    private static String firstKey(GGUFMetadata md, String key, String deprecated) {
        return !md.contains(key) && md.contains(deprecated) ? deprecated : key;
    }

    private int specialId(GGUFMetadata md, String key, int def) {
        if (def >= tokens.length) def = -1; // a default outside a small vocabulary means none
        if (!md.contains(key)) return def;
        long v = md.getLong(key, def);
        // out-of-range ids are ignored (llama.cpp warns and keeps the default)
        return v >= 0 && v < tokens.length ? (int) v : def;
    }

    private int specialIdOrText(GGUFMetadata md, String key, List<String> texts) {
        int id = specialId(md, key, -1);
        if (id >= 0) return id;
        int found = -1;
        for (String t : texts) {
            int i = id(t);
            if (i >= 0 && (found < 0 || i < found)) found = i;
        }
        if (found >= 0) types[found] = TYPE_CONTROL;
        return found;
    }

    static int utf8Length(String s) {
        int len = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) len += 1;
            else if (c < 0x800) len += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) { len += 4; i++; }
            else len += 3;
        }
        return len;
    }

    // ---- accessors ----

    /** A short description of where this vocabulary came from, for messages. */
    public String source() { return source; }
    /** {@code tokenizer.ggml.model} ("llama", "gpt2", ...). */
    public String model() { return model; }
    /** {@code tokenizer.ggml.pre}, or "" when absent. */
    public String pre() { return pre; }
    public int size() { return tokens.length; }
    public String text(int id) { return tokens[id]; }
    public float score(int id) { return scores[id]; }
    /** The token type after llama.cpp's adjustments (control-looking tokens become {@link #TYPE_CONTROL}). */
    public int type(int id) { return types[id]; }
    /** The id of the token with exactly this text, or -1. */
    public int id(String text) {
        return text == null ? -1 : find(text, 0, text.length(), -1, text.hashCode());
    }

    /** The id of the token whose text is {@code s[from, to)}, or -1 (no substring is made). */
    public int id(CharSequence s, int from, int to) {
        int h = 0;
        for (int i = from; i < to; i++) h = 31 * h + s.charAt(i);
        return find(s, from, to, -1, h);
    }

    /** The id of the token whose text is {@code s[from, to)} without the char at {@code skip}, or -1. */
    int idWithout(CharSequence s, int from, int to, int skip) {
        int h = 0;
        for (int i = from; i < to; i++) if (i != skip) h = 31 * h + s.charAt(i);
        return find(s, from, to, skip, h);
    }

    /** Looks up {@code s[from, to)} minus index {@code skip} (-1: none), whose {@link String#hashCode} is h. */
    private int find(CharSequence s, int from, int to, int skip, int h) {
        int len = to - from - (skip >= from && skip < to ? 1 : 0);
        int mask = index.length - 1;
        for (int slot = mix(h) & mask; ; slot = (slot + 1) & mask) {
            int e = index[slot];
            if (e == 0) return -1;
            String t = tokens[e - 1];
            if (t.length() == len && regionEquals(t, s, from, to, skip)) return e - 1;
        }
    }

    private static boolean regionEquals(String t, CharSequence s, int from, int to, int skip) {
        if (skip < from && s instanceof String str) return str.regionMatches(from, t, 0, t.length());
        for (int i = from, j = 0; i < to; i++) {
            if (i == skip) continue;
            if (t.charAt(j++) != s.charAt(i)) return false;
        }
        return true;
    }

    private static int mix(int h) {
        h *= 0x9E3779B9;
        return h ^ (h >>> 16);
    }

    public boolean isNormal(int id) { return types[id] == TYPE_NORMAL; }
    public boolean isControl(int id) { return types[id] == TYPE_CONTROL; }
    public boolean isUserDefined(int id) { return types[id] == TYPE_USER_DEFINED; }
    public boolean isUnknown(int id) { return types[id] == TYPE_UNKNOWN; }
    public boolean isByte(int id) { return types[id] == TYPE_BYTE; }
    public boolean isUnused(int id) { return types[id] == TYPE_UNUSED; }
    public boolean isEndOfGeneration(int id) { return id >= 0 && eog.get(id); }
    /** All end-of-generation ids, ascending. */
    public int[] endOfGenerationIds() { return eog.stream().toArray(); }

    public int bos() { return bos; }
    public int eos() { return eos; }
    public int unk() { return unk; }
    public int sep() { return sep; }
    public int pad() { return pad; }
    public int mask() { return mask; }
    public int eot() { return eot; }
    public int eom() { return eom; }
    public int fimPre() { return fimPre; }
    public int fimSuf() { return fimSuf; }
    public int fimMid() { return fimMid; }
    public int fimPad() { return fimPad; }
    public int fimRep() { return fimRep; }
    public int fimSep() { return fimSep; }
    public boolean addBos() { return addBos; }
    public boolean addEos() { return addEos; }
    public boolean addSpacePrefix() { return addSpacePrefix; }

    /** Special tokens considered by {@link #partition}, in matching order (longest first). */
    public int[] specialTokens() { return specialTokens.clone(); }

    // ---- special-token partitioning ----

    /**
     * Splits text into raw-text fragments and special tokens, as llama.cpp's {@code tokenizer_st_partition}:
     * for each special token in turn (longest first), every remaining raw-text fragment is split at each of its
     * occurrences. USER_DEFINED tokens are always matched; CONTROL and UNKNOWN tokens only when
     * {@code parseSpecial}. Tokens with the left/right-strip attribute swallow adjacent ASCII whitespace.
     * Empty text gives an empty list; raw-text fragments are never empty.
     */
    public List<Fragment> partition(String text, boolean parseSpecial) {
        Objects.requireNonNull(text, "text");
        List<Fragment> frags = new ArrayList<>();
        if (text.isEmpty()) return frags;
        frags.add(new Text(text));
        for (int sid : specialTokens) {
            int t = types[sid];
            if (!parseSpecial && (t == TYPE_CONTROL || t == TYPE_UNKNOWN)) continue;
            String st = tokens[sid];
            boolean any = false;
            for (Fragment f : frags) {
                if (f instanceof Text(String s) && s.contains(st)) { any = true; break; }
            }
            if (!any) continue;
            boolean ls = lstrip.get(sid), rs = rstrip.get(sid);
            List<Fragment> out = new ArrayList<>(frags.size() + 4);
            for (Fragment f : frags) {
                if (!(f instanceof Text(String s))) { out.add(f); continue; }
                int from = 0;
                int end = s.length();
                while (true) {
                    int match = s.indexOf(st, from);
                    if (match < 0) break;
                    int leftEnd = match;
                    if (ls) while (leftEnd > from && isSpace(s.charAt(leftEnd - 1))) leftEnd--;
                    if (leftEnd > from) out.add(new Text(s.substring(from, leftEnd)));
                    out.add(new Token(sid));
                    from = match + st.length();
                    if (rs) while (from < end && isSpace(s.charAt(from))) from++;
                }
                if (from < end) out.add(new Text(from == 0 ? s : s.substring(from)));
            }
            frags = out;
        }
        return frags;
    }

    /** C {@code isspace} in the "C" locale. */
    static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    @Override
    public String toString() {
        return "Vocabulary[" + model + (pre.isEmpty() ? "" : "/" + pre) + ", " + tokens.length + " tokens, bos=" + bos
                + ", eos=" + eos + ", eog=" + Arrays.toString(endOfGenerationIds()) + "]";
    }
}
