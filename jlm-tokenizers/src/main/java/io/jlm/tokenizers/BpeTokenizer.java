package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * Byte-level BPE tokenizer (GGUF {@code tokenizer.ggml.model = "gpt2"}), matching llama.cpp's {@code llm_tokenizer_bpe}:
 * special/user-defined tokens are split off the raw text first ({@link Vocabulary#partition}), the remaining text is
 * pre-tokenized by the vocabulary's regexes ({@link PreTokenizerType}), each word is mapped to GPT-2 byte characters
 * and merged pairwise by merge rank (lowest rank first, leftmost first on ties). Token types, special ids, BOS/EOS
 * flags and the end-of-generation set come from the {@link Vocabulary}.
 */
public final class BpeTokenizer implements Tokenizer {

    private static final int CACHE_LIMIT = 1 << 16;

    private final Vocabulary vocab;
    private final int nVocab;
    private final String[] extraSymbols;    // interned merge strings that are not tokens, id = nVocab + index
    private final int[] byteSymbol = new int[256];
    private final BpeMergeTable merges;
    private final PreTokenizer preTokenizer;
    private final UnaryOperator<String> normalizer;
    private final boolean ignoreMerges;
    private final byte[][] pieces;
    private final ConcurrentHashMap<String, int[]> wordCache = new ConcurrentHashMap<>();

    /**
     * @param vocab        the vocabulary (token texts in GPT-2 byte characters, special tokens as plain text)
     * @param merges       merges as "left right", in rank order
     * @param preTokenizer the pre-tokenizer splitting raw text into words
     * @param ignoreMerges a word that is a whole vocabulary entry is emitted without running merges
     * @param normalizer   applied to raw text before pre-tokenizing, or null
     * @throws IllegalArgumentException when the vocabulary adds BOS/EOS but has no such token
     */
    public BpeTokenizer(Vocabulary vocab, String[] merges, PreTokenizer preTokenizer, boolean ignoreMerges,
                        UnaryOperator<String> normalizer) {
        if (preTokenizer == null) throw new IllegalArgumentException("preTokenizer is required");
        this.vocab = vocab;
        this.preTokenizer = preTokenizer;
        this.normalizer = normalizer;
        this.ignoreMerges = ignoreMerges;
        if (vocab.addBos() && vocab.bos() < 0) {
            throw new IllegalArgumentException(vocab.source() + ": tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set");
        }
        if (vocab.addEos() && vocab.eos() < 0) {
            throw new IllegalArgumentException(vocab.source() + ": tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set");
        }
        int n = vocab.size();
        this.nVocab = n;

        // symbols: every token, every merge operand/result, every byte character
        Map<String, Integer> extraIds = new HashMap<>();
        List<String> extra = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            String c = String.valueOf(BpeByteEncoding.byteToChar(b));
            byteSymbol[b] = symbol(extraIds, extra, c, 0, 1, -1);
        }
        this.merges = new BpeMergeTable(merges.length);
        for (int r = 0; r < merges.length; r++) {
            String m = merges[r];
            int len = m.length();
            int sp = len > 1 ? m.indexOf(' ', 1) : -1;
            if (sp < 0 || sp + 1 == len) continue; // llama.cpp records an ("","") pair that can never match
            // left = m[0, sp), right = m[sp+1, len), merged = m without the space: looked up without substrings
            int ia = symbol(extraIds, extra, m, 0, sp, -1);
            int ib = symbol(extraIds, extra, m, sp + 1, len, -1);
            int ir = symbol(extraIds, extra, m, 0, len, sp);
            this.merges.putIfAbsent(ia, ib, r, ir);
        }
        this.extraSymbols = extra.toArray(String[]::new);

        this.pieces = new byte[n][];
        for (int i = 0; i < n; i++) pieces[i] = piece(i);
    }

    /**
     * The symbol id of {@code s[from, to)} without the char at {@code skip} (-1: none): its token id, else an id after
     * the vocabulary for a string that is no token.
     */
    private int symbol(Map<String, Integer> extraIds, List<String> extra, String s, int from, int to, int skip) {
        int id = skip < 0 ? vocab.id(s, from, to) : vocab.idWithout(s, from, to, skip);
        if (id >= 0) return id;
        String str = skip < 0 ? s.substring(from, to) : s.substring(from, skip) + s.substring(skip + 1, to);
        Integer e = extraIds.get(str);
        if (e != null) return e;
        int nid = nVocab + extra.size();
        extra.add(str);
        extraIds.put(str, nid);
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
        String model = md.getString("tokenizer.ggml.model");
        if (!"gpt2".equals(model)) {
            throw new IllegalArgumentException(source + ": tokenizer.ggml.model is '" + model + "'; expected 'gpt2' for a byte-level BPE vocabulary");
        }
        String[] merges = md.getStringArray("tokenizer.ggml.merges");
        if (merges == null) throw new IllegalArgumentException(source + ": metadata 'tokenizer.ggml.merges' is missing; expected an array of strings");
        PreTokenizerType type;
        try {
            type = PreTokenizerType.forName(md.getString("tokenizer.ggml.pre"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        return new BpeTokenizer(Vocabulary.fromGGUF(md, source), merges, type.preTokenizer(), type.ignoreMerges(), null);
    }

    /** Builds the tokenizer from GGUF metadata (used by {@link Tokenizers#fromGGUF}). */
    public BpeTokenizer(GGUFMetadata md) {
        this(fromGGUF(md, "GGUF metadata"));
    }

    private BpeTokenizer(BpeTokenizer t) {
        this.vocab = t.vocab;
        this.nVocab = t.nVocab;
        this.extraSymbols = t.extraSymbols;
        System.arraycopy(t.byteSymbol, 0, byteSymbol, 0, 256);
        this.merges = t.merges;
        this.preTokenizer = t.preTokenizer;
        this.normalizer = t.normalizer;
        this.ignoreMerges = t.ignoreMerges;
        this.pieces = t.pieces;
    }

    // ---- encoding ----------------------------------------------------------------------------------------------

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        Workspace ws = new Workspace();
        PreTokenizerRegex.IntList out = new PreTokenizerRegex.IntList(Math.max(16, text.length() / 3));
        if (addSpecial && vocab.addBos()) out.add(vocab.bos());
        for (Vocabulary.Fragment f : vocab.partition(text, parseSpecial)) {
            switch (f) {
                case Vocabulary.Text(String s) -> encodeText(s, out, ws);
                case Vocabulary.Token(int id) -> out.add(id);
            }
        }
        if (addSpecial && vocab.addEos()) out.add(vocab.eos());
        return out.toArray();
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
            int id = vocab.id(BpeByteEncoding.encode(bytes, 0, n));
            if (id >= 0) { out.add(id); return; }
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
        if (symbol < nVocab) {
            out.add(symbol);
            return;
        }
        // not a token: llama.cpp looks up each byte of the symbol's UTF-8 text as a one-byte token
        String s = extraSymbols[symbol - nVocab];
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                int id = vocab.id(String.valueOf(c));
                if (id >= 0) out.add(id);
            }
        }
    }

    // ---- decoding ----------------------------------------------------------------------------------------------

    private byte[] piece(int id) {
        int type = vocab.type(id);
        String text = vocab.text(id);
        if (type == Vocabulary.TYPE_USER_DEFINED) return text.getBytes(StandardCharsets.UTF_8);
        if (type == Vocabulary.TYPE_NORMAL) {
            // usual case: every char is one of the 256 byte characters
            byte[] fast = new byte[text.length()];
            int k = 0;
            for (int c; k < fast.length && (c = BpeByteEncoding.charToByte(text.charAt(k))) >= 0; k++) fast[k] = (byte) c;
            if (k == fast.length) return fast;
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
        if (type == Vocabulary.TYPE_BYTE && text.length() >= 5) {
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

    @Override public int vocabSize() { return vocab.size(); }
    @Override public String tokenText(int id) { return vocab.text(id); }
    @Override public int bos() { return vocab.bos(); }
    @Override public int eos() { return vocab.eos(); }
    @Override public boolean isEndOfGeneration(int id) { return vocab.isEndOfGeneration(id); }
    @Override public boolean isControl(int id) { return vocab.isControl(id); }

    public Vocabulary vocabulary() { return vocab; }

    /** Whether BOS is added when encoding with {@code addSpecial}. */
    public boolean addsBos() { return vocab.addBos(); }

    /** Whether EOS is added when encoding with {@code addSpecial}. */
    public boolean addsEos() { return vocab.addEos(); }

    /** Id of an exact vocabulary string, or -1. */
    public int tokenId(String text) { return vocab.id(text); }

    public PreTokenizer preTokenizer() { return preTokenizer; }

    @Override
    public String toString() {
        return "BpeTokenizer" + vocab;
    }
}
