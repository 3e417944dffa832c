package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFMetadata;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * SentencePiece (BPE-by-score) tokenizer for GGUF vocabularies with {@code tokenizer.ggml.model = "llama"}
 * (Llama 1/2, Mistral v1, Phi-3, Baichuan, TinyStories, ...), matching llama.cpp's {@code llm_tokenizer_spm}.
 *
 * <p>Encoding: the text is split around special tokens ({@link Vocabulary#partition}); each raw-text fragment gets a
 * leading space when the vocabulary adds a space prefix and the fragment is the first one or follows a special
 * token (llama.cpp's {@code is_prev_special} rule), then every {@code ' '} becomes U+2581 "▁". The fragment is cut into
 * code points and adjacent symbols are merged repeatedly, always the pair whose merged text is the vocabulary token
 * with the highest score (ties: leftmost pair). Final symbols that are not tokens become byte tokens
 * {@code <0xXX>} (or the unknown token when the vocabulary has no byte tokens).
 *
 * <p>Decoding ({@link #decode}): normal tokens give their text with "▁" as space, byte tokens their byte, user-defined
 * tokens their text, control/unknown/unused tokens nothing; the bytes are joined and read as UTF-8. When the
 * vocabulary adds a space prefix, one leading space is removed from the first token that produces any text (as
 * SentencePiece does, so {@code decode(encode(s, true, false))} gives back {@code s}; llama.cpp strips it only
 * from the very first token of the sequence).
 */
public final class SentencePieceTokenizer implements Tokenizer {

    private static final char SPACE_MARK = '\u2581';

    private final Vocabulary vocab;
    /** Detokenized bytes of each token (empty for control/unknown/unused tokens). */
    private final byte[][] pieces;
    /** Token id of each byte value, via {@code <0xXX>} or a single-character token, else the unknown token, else -1. */
    private final int[] byteTokens = new int[256];
    /** Every pair of code points that occur next to each other inside some token's text. */
    private final LongHashSet adjacentPairs = new LongHashSet();

    public SentencePieceTokenizer(GGUFMetadata md) {
        this(Vocabulary.fromGGUF(md));
    }

    public SentencePieceTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        int n = vocab.size();
        this.pieces = new byte[n][];
        for (int id = 0; id < n; id++) {
            String text = vocab.text(id);
            pieces[id] = switch (vocab.type(id)) {
                case Vocabulary.TYPE_NORMAL -> text.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
                case Vocabulary.TYPE_USER_DEFINED -> text.getBytes(StandardCharsets.UTF_8);
                case Vocabulary.TYPE_BYTE -> new byte[]{(byte) parseByteToken(text, id)};
                default -> new byte[0];
            };
        }
        for (int id = 0; id < n; id++) {
            String text = vocab.text(id);
            int prevCp = -1;
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                if (prevCp >= 0) adjacentPairs.add(pairKey(prevCp, cp));
                prevCp = cp;
                i += Character.charCount(cp);
            }
        }
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) id = vocab.id(String.valueOf((char) b));
            if (id < 0) id = vocab.unk();
            byteTokens[b] = id;
        }
    }

    private int parseByteToken(String text, int id) {
        if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
            try {
                return Integer.parseInt(text.substring(3, 5), 16);
            } catch (NumberFormatException ignored) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException(vocab.source() + ": token " + id + " '" + text
                + "' has type BYTE (6) in 'tokenizer.ggml.token_type'; expected its text to be <0xXX>");
    }

    public Vocabulary vocabulary() { return vocab; }

    @Override public int vocabSize() { return vocab.size(); }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(Math.max(8, text.length() / 2));
        boolean addBos = addSpecial && vocab.addBos();
        if (addBos) {
            if (vocab.bos() < 0) throw new IllegalStateException(vocab.source() + ": the vocabulary adds BOS but has no BOS token");
            out.add(vocab.bos());
        }
        boolean prevSpecial = true;
        for (Vocabulary.Fragment f : vocab.partition(text, parseSpecial)) {
            switch (f) {
                case Vocabulary.Text(String raw) -> {
                    String s = (vocab.addSpacePrefix() && prevSpecial) ? " " + raw : raw;
                    tokenizeFragment(s.replace(' ', SPACE_MARK), out);
                    prevSpecial = false;
                }
                case Vocabulary.Token(int id) -> {
                    out.add(id);
                    prevSpecial = true;
                }
            }
        }
        if (addSpecial && vocab.addEos()) {
            if (vocab.eos() < 0) throw new IllegalStateException(vocab.source() + ": the vocabulary adds EOS but has no EOS token");
            out.add(vocab.eos());
        }
        return out.toArray();
    }

    /**
     * Tokenizes one fragment whose spaces are already escaped; appends to out. The fragment is first cut between
     * adjacent code points that occur next to each other in no vocabulary token: no merge can cross such a cut
     * (every merged symbol is a token), so merging each piece on its own gives exactly the result of merging the whole
     * fragment with one queue, with small queues instead of one the size of the text.
     */
    private void tokenizeFragment(String text, IntList out) {
        int len = text.length();
        if (len == 0) return;
        // symbols: one per code point; start (char index), length (chars; 0 once merged away), prev, next
        int nSym = text.codePointCount(0, len);
        int[] start = new int[nSym], length = new int[nSym], prev = new int[nSym], next = new int[nSym];
        for (int i = 0, pos = 0; i < nSym; i++) {
            int cl = Character.charCount(text.codePointAt(pos));
            start[i] = pos;
            length[i] = cl;
            pos += cl;
        }
        BigramQueue queue = new BigramQueue(64);
        int from = 0;
        int prevCp = text.codePointAt(0);
        for (int i = 1; i <= nSym; i++) {
            int cp = i < nSym ? text.codePointAt(start[i]) : -1;
            if (i == nSym || !adjacentPairs.contains(pairKey(prevCp, cp))) {
                mergePiece(text, start, length, prev, next, from, i, queue);
                emit(text, start, length, next, from, out);
                from = i;
            }
            prevCp = cp;
        }
    }

    /** Runs the merges on symbols [from, to): repeatedly the best-scoring adjacent pair (ties: leftmost). */
    private void mergePiece(String text, int[] start, int[] length, int[] prev, int[] next, int from, int to, BigramQueue queue) {
        for (int i = from; i < to; i++) {
            prev[i] = i > from ? i - 1 : -1;
            next[i] = i + 1 < to ? i + 1 : -1;
        }
        queue.size = 0;
        for (int i = from + 1; i < to; i++) tryAddBigram(text, start, length, i - 1, i, queue);
        while (queue.size > 0) {
            long key = queue.keys[0];
            long payload = queue.payloads[0];
            queue.pop();
            int l = BigramQueue.left(key), r = (int) (payload >>> 32), n = (int) payload;
            // skip stale entries: one side already merged away, or the pair changed since it was queued
            if (length[l] == 0 || length[r] == 0 || length[l] + length[r] != n) continue;
            length[l] += length[r];
            length[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            tryAddBigram(text, start, length, prev[l], l, queue);
            tryAddBigram(text, start, length, l, next[l], queue);
        }
    }

    /** Appends the tokens of the merged symbols starting at symbol first; symbols that are no token become bytes. */
    private void emit(String text, int[] start, int[] length, int[] next, int first, IntList out) {
        for (int i = first; i != -1; i = next[i]) {
            int id = vocab.id(text.substring(start[i], start[i] + length[i]));
            if (id >= 0) {
                out.add(id);
                continue;
            }
            byte[] bytes = text.substring(start[i], start[i] + length[i]).getBytes(StandardCharsets.UTF_8);
            for (byte b : bytes) {
                int bt = byteTokens[b & 0xFF];
                if (bt < 0) {
                    throw new IllegalArgumentException(vocab.source() + ": cannot encode byte 0x"
                            + String.format("%02X", b & 0xFF) + ": the vocabulary has no byte token <0x"
                            + String.format("%02X", b & 0xFF) + "> and no unknown token");
                }
                out.add(bt);
            }
        }
    }

    private static long pairKey(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private void tryAddBigram(String text, int[] start, int[] length, int left, int right, BigramQueue queue) {
        if (left < 0 || right < 0) return;
        int n = length[left] + length[right];
        int id = vocab.id(text.substring(start[left], start[left] + n));
        if (id < 0) return;
        queue.push(BigramQueue.key(vocab.score(id), left), ((long) right << 32) | n);
    }

    /**
     * Max-heap of candidate merges without per-entry objects. The key orders by score (higher first), then by left
     * symbol index (lower first); the payload holds the right symbol index and the merged length.
     */
    static final class BigramQueue {
        long[] keys;
        long[] payloads;
        int size;

        BigramQueue(int capacity) {
            keys = new long[Math.max(4, capacity)];
            payloads = new long[keys.length];
        }

        static long key(float score, int left) {
            int bits = Float.floatToIntBits(score);
            int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF); // monotone in score as a signed int
            return ((long) sortable << 32) | (Integer.MAX_VALUE - left);
        }

        static int left(long key) {
            return Integer.MAX_VALUE - (int) key;
        }

        void push(long key, long payload) {
            if (size == keys.length) {
                keys = Arrays.copyOf(keys, size * 2);
                payloads = Arrays.copyOf(payloads, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (keys[parent] >= key) break;
                keys[i] = keys[parent];
                payloads[i] = payloads[parent];
                i = parent;
            }
            keys[i] = key;
            payloads[i] = payload;
        }

        void pop() {
            int n = --size;
            if (n == 0) return;
            long key = keys[n], payload = payloads[n];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= n) break;
                if (c + 1 < n && keys[c + 1] > keys[c]) c++;
                if (keys[c] <= key) break;
                keys[i] = keys[c];
                payloads[i] = payloads[c];
                i = c;
            }
            keys[i] = key;
            payloads[i] = payload;
        }
    }

    @Override
    public byte[] tokenBytes(int id) {
        return pieces[id].clone();
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(ids.length * 4);
        boolean strip = vocab.addSpacePrefix();
        for (int id : ids) {
            byte[] p = pieces[id];
            if (p.length == 0) continue;
            int from = 0;
            if (strip) {
                if (vocab.isNormal(id) && p[0] == ' ') from = 1;
                strip = false;
            }
            buf.write(p, from, p.length - from);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Override public String tokenText(int id) { return vocab.text(id); }
    @Override public int bos() { return vocab.bos(); }
    @Override public int eos() { return vocab.eos(); }
    @Override public boolean isEndOfGeneration(int id) { return vocab.isEndOfGeneration(id); }
    @Override public boolean isControl(int id) { return vocab.isControl(id); }

    @Override
    public String toString() {
        return "SentencePieceTokenizer" + vocab;
    }

    /** Open-addressing set of longs (no boxing on lookup). */
    static final class LongHashSet {
        private static final long EMPTY = Long.MIN_VALUE;
        private long[] slots = newSlots(1024);
        private int count;
        private boolean hasEmptyKey;

        private static long[] newSlots(int n) {
            long[] a = new long[n];
            Arrays.fill(a, EMPTY);
            return a;
        }

        private static int hash(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }

        void add(long k) {
            if (k == EMPTY) { hasEmptyKey = true; return; }
            if (2 * (count + 1) > slots.length) {
                long[] old = slots;
                slots = newSlots(old.length * 2);
                count = 0;
                for (long o : old) if (o != EMPTY) add(o);
            }
            int mask = slots.length - 1;
            for (int i = hash(k) & mask; ; i = (i + 1) & mask) {
                if (slots[i] == k) return;
                if (slots[i] == EMPTY) { slots[i] = k; count++; return; }
            }
        }

        boolean contains(long k) {
            if (k == EMPTY) return hasEmptyKey;
            int mask = slots.length - 1;
            for (int i = hash(k) & mask; ; i = (i + 1) & mask) {
                long s = slots[i];
                if (s == k) return true;
                if (s == EMPTY) return false;
            }
        }
    }

    /** Minimal growable int array. */
    static final class IntList {
        private int[] a;
        private int n;
        IntList(int cap) { a = new int[cap]; }
        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }
        int[] toArray() { return Arrays.copyOf(a, n); }
    }
}
