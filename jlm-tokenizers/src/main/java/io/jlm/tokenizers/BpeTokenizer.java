package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * Byte-level BPE tokenizer (GGUF {@code tokenizer.ggml.model = "gpt2"}), matching llama.cpp's {@code llm_tokenizer_bpe}:
 * special/user-defined tokens are split off the raw text first, the remaining text is pre-tokenized by the
 * vocabulary's regexes ({@link PreTokenizerType}), each word is mapped to GPT-2 byte characters and merged pairwise
 * by merge rank (lowest rank first, leftmost first on ties).
 */
public final class BpeTokenizer implements Tokenizer {

    // llama.cpp token attributes
    static final int ATTR_UNKNOWN = 1, ATTR_UNUSED = 2, ATTR_NORMAL = 4, ATTR_CONTROL = 8, ATTR_USER_DEFINED = 16,
            ATTR_BYTE = 32, ATTR_LSTRIP = 128, ATTR_RSTRIP = 256;

    // GGUF token types
    public static final int TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4, TYPE_UNUSED = 5, TYPE_BYTE = 6;

    private static final int CACHE_LIMIT = 1 << 16;

    private final String[] tokens;
    private final int[] attrs;
    private final Map<String, Integer> tokenIds;
    private final String[] extraSymbols;    // interned merge strings that are not tokens, id = nVocab + index
    private final int[] byteSymbol = new int[256];
    private final BpeMergeTable merges;
    private final PreTokenizer preTokenizer;
    private final UnaryOperator<String> normalizer;
    private final boolean ignoreMerges;
    private final int bos, eos;
    private final boolean addBos, addEos;
    private final boolean[] eog;
    private final int[] specialTokens;      // control / user-defined / unknown, longest text first
    private final byte[][] pieces;
    private final ConcurrentHashMap<String, int[]> wordCache = new ConcurrentHashMap<>();

    /** Options beyond the vocabulary itself. */
    public record Options(PreTokenizer preTokenizer, boolean ignoreMerges, int bos, int eos, boolean addBos,
                          boolean addEos, int[] extraEndOfGeneration, Set<String> lstripTokens,
                          UnaryOperator<String> normalizer) {
        /** Options without a normalizer (GGUF vocabularies have none). */
        public Options(PreTokenizer preTokenizer, boolean ignoreMerges, int bos, int eos, boolean addBos, boolean addEos,
                       int[] extraEndOfGeneration, Set<String> lstripTokens) {
            this(preTokenizer, ignoreMerges, bos, eos, addBos, addEos, extraEndOfGeneration, lstripTokens, null);
        }

        public Options {
            if (preTokenizer == null) throw new IllegalArgumentException("preTokenizer is required");
            extraEndOfGeneration = extraEndOfGeneration == null ? new int[0] : extraEndOfGeneration.clone();
            lstripTokens = lstripTokens == null ? Set.of() : Set.copyOf(lstripTokens);
        }
    }

    /**
     * @param tokens     vocabulary strings in GPT-2 byte characters (special tokens as plain text)
     * @param tokenTypes GGUF token types (1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte), or null
     * @param merges     merges as "left right", in rank order
     */
    public BpeTokenizer(String[] tokens, int[] tokenTypes, String[] merges, Options options) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("empty vocabulary");
        if (tokenTypes != null && tokenTypes.length < n) {
            throw new IllegalArgumentException("token type array has " + tokenTypes.length + " entries; expected " + n);
        }
        this.tokens = new String[n];
        this.attrs = new int[n];
        this.tokenIds = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            String t = tokens[i] == null || tokens[i].isEmpty() ? "[EMPTY_" + i + "]" : tokens[i];
            this.tokens[i] = t;
            Integer prev = tokenIds.putIfAbsent(t, i);
            if (prev != null) throw new IllegalArgumentException("duplicate token in vocabulary: '" + t + "' has ids " + prev + " and " + i);
            attrs[i] = tokenTypes == null ? ATTR_NORMAL : switch (tokenTypes[i]) {
                case TYPE_UNKNOWN -> ATTR_UNKNOWN;
                case TYPE_UNUSED -> ATTR_UNUSED;
                case TYPE_NORMAL -> ATTR_NORMAL;
                case TYPE_CONTROL -> ATTR_CONTROL;
                case TYPE_USER_DEFINED -> ATTR_USER_DEFINED;
                case TYPE_BYTE -> ATTR_BYTE;
                default -> 0;
            };
        }
        this.preTokenizer = options.preTokenizer();
        this.normalizer = options.normalizer();
        this.ignoreMerges = options.ignoreMerges();
        this.bos = options.bos() >= 0 && options.bos() < n ? options.bos() : -1;
        this.eos = options.eos() >= 0 && options.eos() < n ? options.eos() : -1;
        this.addBos = options.addBos();
        this.addEos = options.addEos();
        if (addBos && bos < 0) throw new IllegalArgumentException("add_bos_token is true, but the BOS token id is not set");
        if (addEos && eos < 0) throw new IllegalArgumentException("add_eos_token is true, but the EOS token id is not set");

        // symbols: every token, every merge operand/result, every byte character
        Map<String, Integer> intern = new HashMap<>(tokenIds);
        List<String> extra = new ArrayList<>();
        for (int b = 0; b < 256; b++) byteSymbol[b] = intern(intern, extra, n, String.valueOf(BpeByteEncoding.byteToChar(b)));
        this.merges = new BpeMergeTable(merges.length);
        for (int r = 0; r < merges.length; r++) {
            String m = merges[r];
            int sp = m.length() > 1 ? m.indexOf(' ', 1) : -1;
            if (sp < 0) continue; // llama.cpp records an ("","") pair that can never match
            String a = m.substring(0, sp), b = m.substring(sp + 1);
            if (a.isEmpty() || b.isEmpty()) continue;
            int ia = intern(intern, extra, n, a);
            int ib = intern(intern, extra, n, b);
            int ir = intern(intern, extra, n, a + b);
            this.merges.putIfAbsent(ia, ib, r, ir);
        }
        this.extraSymbols = extra.toArray(String[]::new);

        // llama.cpp's text-based fix-ups of token attributes and end-of-generation set
        Set<Integer> eogSet = new HashSet<>();
        for (String t : List.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", "<|fim_repo|>", "<|repo_name|>",
                "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>")) {
            Integer id = tokenIds.get(t);
            if (id != null) { eogSet.add(id); attrs[id] |= ATTR_CONTROL; }
        }
        for (String t : List.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                "<|code_prefix|>", "<|prefix|>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                "▁<SUF>", "<|code_suffix|>", "<|suffix|>", "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>",
                "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>")) {
            Integer id = tokenIds.get(t);
            if (id != null) attrs[id] |= ATTR_CONTROL;
        }
        for (String t : List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
                "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[")) {
            Integer id = tokenIds.get(t);
            if (id != null) { eogSet.add(id); attrs[id] |= ATTR_CONTROL; }
        }
        for (String t : List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>")) {
            Integer id = tokenIds.get(t);
            if (id != null) attrs[id] = ATTR_USER_DEFINED;
        }
        if (eos >= 0) eogSet.add(eos);
        for (int id : options.extraEndOfGeneration()) if (id >= 0 && id < n) eogSet.add(id);
        Integer endId = tokenIds.get("<|end|>");
        if (endId != null && ((tokenIds.containsKey("<|return|>") && tokenIds.containsKey("<|call|>"))
                || (tokenIds.containsKey("<|calls|>") && tokenIds.containsKey("<|flush|>")))) {
            eogSet.remove(endId);
            attrs[endId] = ATTR_USER_DEFINED;
        }
        this.eog = new boolean[n];
        for (int id : eogSet) eog[id] = true;
        for (String t : options.lstripTokens()) {
            Integer id = tokenIds.get(t);
            if (id != null) attrs[id] |= ATTR_LSTRIP;
        }

        // special tokens, longest (in UTF-8 bytes) first
        List<Integer> special = new ArrayList<>();
        int[] byteLen = new int[n];
        for (int i = 0; i < n; i++) {
            if ((attrs[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0) {
                special.add(i);
                byteLen[i] = this.tokens[i].getBytes(StandardCharsets.UTF_8).length;
            }
        }
        special.sort(Comparator.<Integer>comparingInt(i -> -byteLen[i]).thenComparingInt(i -> i));
        this.specialTokens = special.stream().mapToInt(Integer::intValue).toArray();

        this.pieces = new byte[n][];
        for (int i = 0; i < n; i++) pieces[i] = piece(i);
    }

    private static int intern(Map<String, Integer> intern, List<String> extra, int nVocab, String s) {
        Integer id = intern.get(s);
        if (id != null) return id;
        int nid = nVocab + extra.size();
        extra.add(s);
        intern.put(s, nid);
        return nid;
    }

    // ---- construction from GGUF ------------------------------------------------------------------------------

    /** Reads a byte-level BPE vocabulary from a GGUF file. */
    public static BpeTokenizer fromGGUF(Path path) throws IOException {
        try (GGUFFile f = GGUFFile.open(path)) {
            return fromGGUF(f.metadata(), path.toString());
        }
    }

    /** Builds the tokenizer from GGUF metadata ({@code tokenizer.ggml.*}), with llama.cpp's defaults. */
    public static BpeTokenizer fromGGUF(GGUFMetadata md, String source) {
        return new BpeTokenizer(GgufSpec.parse(md, source));
    }

    /** Builds the tokenizer from GGUF metadata (used by {@link Tokenizers#fromGGUF}). */
    public BpeTokenizer(GGUFMetadata md) {
        this(GgufSpec.parse(md, "GGUF metadata"));
    }

    private BpeTokenizer(GgufSpec s) {
        this(s.tokens(), s.types(), s.merges(), s.options());
    }

    private record GgufSpec(String[] tokens, int[] types, String[] merges, Options options) {
        static GgufSpec parse(GGUFMetadata md, String source) {
            String model = md.getString("tokenizer.ggml.model");
            if (!"gpt2".equals(model)) {
                throw new IllegalArgumentException(source + ": tokenizer.ggml.model is '" + model + "'; expected 'gpt2' for a byte-level BPE vocabulary");
            }
            String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
            if (tokens == null) throw new IllegalArgumentException(source + ": metadata 'tokenizer.ggml.tokens' is missing; expected an array of strings");
            String[] merges = md.getStringArray("tokenizer.ggml.merges");
            if (merges == null) throw new IllegalArgumentException(source + ": metadata 'tokenizer.ggml.merges' is missing; expected an array of strings");
            int[] types = md.getIntArray("tokenizer.ggml.token_type");
            if (types != null && types.length < tokens.length) {
                throw new IllegalArgumentException(source + ": metadata 'tokenizer.ggml.token_type' has " + types.length + " entries; expected " + tokens.length);
            }
            String pre = md.getString("tokenizer.ggml.pre");
            PreTokenizerType type;
            try {
                type = PreTokenizerType.forName(pre);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
            }
            int n = tokens.length;
            int bos = type.noBos() ? -1 : specialId(md, "tokenizer.ggml.bos_token_id", 11, n);
            int eos = specialId(md, "tokenizer.ggml.eos_token_id", 11, n);
            boolean addBos = md.getBoolean("tokenizer.ggml.add_bos_token", type.addBos());
            boolean addEos = md.getBoolean("tokenizer.ggml.add_eos_token", false);
            if (addBos && bos < 0) throw new IllegalArgumentException(source + ": tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set");
            if (addEos && eos < 0) throw new IllegalArgumentException(source + ": tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set");
            int[] extraEog = {specialId(md, "tokenizer.ggml.eot_token_id", -1, n), specialId(md, "tokenizer.ggml.eom_token_id", -1, n)};
            Set<String> lstrip = pre != null && (pre.contains("jina-v2-de") || pre.contains("jina-v2-es") || pre.contains("jina-v2-code"))
                    ? Set.of("<mask>") : Set.of();
            return new GgufSpec(tokens, types, merges,
                    new Options(type.preTokenizer(), type.ignoreMerges(), bos, eos, addBos, addEos, extraEog, lstrip));
        }
    }

    private static int specialId(GGUFMetadata md, String key, int def, int n) {
        long v = md.getLong(key, def);
        return v >= 0 && v < n ? (int) v : (def >= 0 && def < n ? def : -1);
    }

    // ---- encoding ----------------------------------------------------------------------------------------------

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        Workspace ws = new Workspace();
        PreTokenizerRegex.IntList out = new PreTokenizerRegex.IntList(Math.max(16, text.length() / 3));
        if (addSpecial && addBos) out.add(bos);
        if (!text.isEmpty()) {
            for (Object frag : partition(text, parseSpecial)) {
                if (frag instanceof String s) encodeText(s, out, ws);
                else out.add((Integer) frag);
            }
        }
        if (addSpecial && addEos) out.add(eos);
        return out.toArray();
    }

    /** Splits text around special tokens as llama.cpp's tokenizer_st_partition: String = raw text, Integer = token. */
    private List<Object> partition(String text, boolean parseSpecial) {
        List<Object> frags = new ArrayList<>();
        frags.add(text);
        for (int id : specialTokens) {
            int attr = attrs[id];
            if (!parseSpecial && (attr & (ATTR_CONTROL | ATTR_UNKNOWN)) != 0) continue;
            String tok = tokens[id];
            boolean any = false;
            for (Object f : frags) if (f instanceof String s && s.contains(tok)) { any = true; break; }
            if (!any) continue;
            List<Object> next = new ArrayList<>(frags.size() + 4);
            for (Object f : frags) {
                if (!(f instanceof String s)) { next.add(f); continue; }
                int from = 0;
                while (true) {
                    int m = s.indexOf(tok, from);
                    if (m < 0) break;
                    int leftEnd = m;
                    if ((attr & ATTR_LSTRIP) != 0) while (leftEnd > from && isSpace(s.charAt(leftEnd - 1))) leftEnd--;
                    if (leftEnd > from) next.add(s.substring(from, leftEnd));
                    next.add(id);
                    from = m + tok.length();
                    if ((attr & ATTR_RSTRIP) != 0) while (from < s.length() && isSpace(s.charAt(from))) from++;
                }
                if (from < s.length()) next.add(s.substring(from));
            }
            frags = next;
        }
        return frags;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    private void encodeText(String text, PreTokenizerRegex.IntList out, Workspace ws) {
        if (normalizer != null) text = normalizer.apply(text);
        int[] cps = PreTokenizer.codePoints(text);
        int[] lens = preTokenizer.split(cps);
        int pos = 0;
        for (int len : lens) {
            if (len > 0) {
                String word = new String(cps, pos, len);
                int[] cached = wordCache.get(word);
                if (cached == null) {
                    byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
                    int start = out.size;
                    encodeWord(bytes, out, ws);
                    if (wordCache.size() < CACHE_LIMIT) wordCache.put(word, Arrays.copyOfRange(out.data, start, out.size));
                } else {
                    for (int t : cached) out.add(t);
                }
            }
            pos += len;
        }
    }

    /** Per-call scratch arrays. */
    private static final class Workspace {
        int[] sym = new int[64], prev = new int[64], next = new int[64];
        boolean[] alive = new boolean[64];
        long[] heap = new long[128];
        int heapSize;

        void ensure(int n) {
            if (sym.length < n) {
                int c = Math.max(n, sym.length * 2);
                sym = new int[c]; prev = new int[c]; next = new int[c]; alive = new boolean[c];
            }
        }

        void push(long v) {
            if (heapSize == heap.length) heap = Arrays.copyOf(heap, heapSize * 2);
            int i = heapSize++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (heap[p] <= v) break;
                heap[i] = heap[p];
                i = p;
            }
            heap[i] = v;
        }

        long pop() {
            long top = heap[0];
            long last = heap[--heapSize];
            int i = 0, n = heapSize;
            while (true) {
                int c = 2 * i + 1;
                if (c >= n) break;
                if (c + 1 < n && heap[c + 1] < heap[c]) c++;
                if (heap[c] >= last) break;
                heap[i] = heap[c];
                i = c;
            }
            if (n > 0) heap[i] = last;
            return top;
        }
    }

    private void encodeWord(byte[] bytes, PreTokenizerRegex.IntList out, Workspace ws) {
        int n = bytes.length;
        if (ignoreMerges) {
            Integer id = tokenIds.get(BpeByteEncoding.encode(bytes, 0, n));
            if (id != null) { out.add(id); return; }
        }
        ws.ensure(n);
        int[] sym = ws.sym, prev = ws.prev, next = ws.next;
        boolean[] alive = ws.alive;
        for (int i = 0; i < n; i++) {
            sym[i] = byteSymbol[bytes[i] & 0xFF];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            alive[i] = true;
        }
        ws.heapSize = 0;
        for (int i = 0; i + 1 < n; i++) pushPair(ws, i, i + 1);
        while (ws.heapSize > 0) {
            long e = ws.pop();
            int left = (int) e;
            int rank = (int) (e >>> 32);
            if (!alive[left]) continue;
            int right = next[left];
            if (right < 0) continue;
            int slot = merges.find(sym[left], sym[right]);
            if (slot < 0 || merges.rank(slot) != rank) continue; // outdated entry
            sym[left] = merges.result(slot);
            alive[right] = false;
            int rn = next[right];
            next[left] = rn;
            if (rn >= 0) prev[rn] = left;
            if (prev[left] >= 0) pushPair(ws, prev[left], left);
            if (rn >= 0) pushPair(ws, left, rn);
        }
        for (int i = 0; i != -1; i = next[i]) emit(sym[i], out);
    }

    private void pushPair(Workspace ws, int left, int right) {
        int slot = merges.find(ws.sym[left], ws.sym[right]);
        if (slot >= 0) ws.push(((long) merges.rank(slot) << 32) | left);
    }

    private void emit(int symbol, PreTokenizerRegex.IntList out) {
        if (symbol < tokens.length) {
            out.add(symbol);
            return;
        }
        // not a token: llama.cpp looks up each byte of the symbol's UTF-8 text as a one-byte token
        String s = extraSymbols[symbol - tokens.length];
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                Integer id = tokenIds.get(String.valueOf(c));
                if (id != null) out.add(id);
            }
        }
    }

    // ---- decoding ----------------------------------------------------------------------------------------------

    private byte[] piece(int id) {
        int attr = attrs[id];
        String text = tokens[id];
        if ((attr & (ATTR_UNKNOWN | ATTR_CONTROL)) != 0) return new byte[0];
        if ((attr & ATTR_USER_DEFINED) != 0) return text.getBytes(StandardCharsets.UTF_8);
        if ((attr & ATTR_NORMAL) != 0) {
            ByteArrayOutputStream bo = new ByteArrayOutputStream(text.length());
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                i += Character.charCount(cp);
                int b = BpeByteEncoding.charToByte(cp);
                if (b >= 0) {
                    bo.write(b);
                } else {
                    StringBuilder sb = new StringBuilder("[UNK_BYTE_0x");
                    for (byte u : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) sb.append(String.format("%02x", u & 0xFF));
                    sb.append(text).append(']');
                    bo.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
                }
            }
            return bo.toByteArray();
        }
        if ((attr & ATTR_BYTE) != 0 && text.length() >= 5) {
            try {
                return new byte[]{(byte) Integer.parseInt(text.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                return new byte[0];
            }
        }
        return new byte[0];
    }

    @Override
    public byte[] tokenBytes(int id) {
        return pieces[id].clone();
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bo = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            if (id < 0 || id >= pieces.length) throw new IllegalArgumentException("token id " + id + " is out of range [0, " + pieces.length + ")");
            bo.writeBytes(pieces[id]);
        }
        return bo.toString(StandardCharsets.UTF_8);
    }

    @Override public int vocabSize() { return tokens.length; }
    @Override public String tokenText(int id) { return tokens[id]; }
    @Override public int bos() { return bos; }
    @Override public int eos() { return eos; }
    @Override public boolean isEndOfGeneration(int id) { return id >= 0 && id < eog.length && eog[id]; }
    @Override public boolean isControl(int id) { return (attrs[id] & ATTR_CONTROL) != 0; }

    /** Whether BOS is added when encoding with {@code addSpecial}. */
    public boolean addsBos() { return addBos; }

    /** Whether EOS is added when encoding with {@code addSpecial}. */
    public boolean addsEos() { return addEos; }

    /** Id of an exact vocabulary string, or -1. */
    public int tokenId(String text) {
        Integer id = tokenIds.get(text);
        return id == null ? -1 : id;
    }

    public PreTokenizer preTokenizer() { return preTokenizer; }
}
