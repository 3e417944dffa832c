package io.jlm.tokenizers;

import java.util.Arrays;

/**
 * Encodes with a byte-level BPE vocabulary but without its merge list (after "Train It and Forget It: Merge Lists
 * are Unnecessary for BPE Inference"). Special tokens are split off and the text pre-tokenized exactly as
 * {@link BpeTokenizer} does; each pre-token's UTF-8 bytes are then segmented into vocabulary tokens by
 * <ul>
 *   <li>{@link Mode#GREEDY}: left to right, always the longest token that is a prefix of the rest;</li>
 *   <li>{@link Mode#OPTIMAL}: the fewest tokens (dynamic programming over a byte trie of the vocabulary); among
 *       segmentations with the fewest tokens, the one whose token lengths, read left to right, are largest
 *       (lexicographically).</li>
 * </ul>
 * Only NORMAL tokens take part in segmentation; every byte of the text must be a token by itself (true for
 * byte-level BPE vocabularies), otherwise encoding fails with {@link IllegalArgumentException}. Decoding and all
 * other {@link Tokenizer} methods are those of the underlying {@link BpeTokenizer}. Immutable and thread-safe.
 */
public final class MergeFreeEncoder implements Tokenizer {

    /** The segmentation rule. */
    public enum Mode { GREEDY, OPTIMAL }

    private final BpeTokenizer base;
    private final Vocabulary vocab;
    private final Mode mode;
    private final ByteTrie trie;

    public MergeFreeEncoder(BpeTokenizer base, Mode mode) {
        this.base = base;
        this.vocab = base.vocabulary();
        this.mode = mode;
        this.trie = new ByteTrie();
        for (int id = 0; id < vocab.size(); id++) {
            if (vocab.type(id) != Vocabulary.TYPE_NORMAL) continue;
            byte[] b = base.tokenBytes(id);
            if (b.length > 0) trie.insert(b, id);
        }
    }

    public Mode mode() { return mode; }

    /** The tokenizer whose vocabulary (and pre-tokenizer, decoder) this encoder uses. */
    public BpeTokenizer base() { return base; }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        PreTokenizerRegex.IntList out = new PreTokenizerRegex.IntList(Math.max(16, text.length() / 3));
        if (addSpecial && vocab.addBos()) out.add(vocab.bos());
        int[][] scratch = {new int[64], new int[64], new int[64]};
        for (Vocabulary.Fragment f : vocab.partition(text, parseSpecial)) {
            switch (f) {
                case Vocabulary.Text(String s) -> {
                    int[] cps = PreTokenizer.codePoints(s);
                    int[] lens = base.preTokenizer().split(cps);
                    int pos = 0;
                    for (int len : lens) {
                        if (len > 0) {
                            byte[] bytes = new String(cps, pos, len).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                            if (mode == Mode.GREEDY) greedy(bytes, out);
                            else scratch = optimal(bytes, out, scratch);
                        }
                        pos += len;
                    }
                }
                case Vocabulary.Token(int id) -> out.add(id);
            }
        }
        if (addSpecial && vocab.addEos()) out.add(vocab.eos());
        return out.toArray();
    }

    /** Segments one byte string (a pre-token) with this encoder's rule. */
    public int[] segment(byte[] bytes) {
        PreTokenizerRegex.IntList out = new PreTokenizerRegex.IntList(bytes.length);
        if (mode == Mode.GREEDY) greedy(bytes, out);
        else optimal(bytes, out, new int[][]{new int[bytes.length + 1], new int[bytes.length + 1], new int[bytes.length + 1]});
        return out.toArray();
    }

    private void greedy(byte[] b, PreTokenizerRegex.IntList out) {
        int n = b.length;
        int i = 0;
        while (i < n) {
            int node = 0, bestId = -1, bestEnd = -1;
            for (int j = i; j < n; j++) {
                node = trie.child(node, b[j]);
                if (node < 0) break;
                int t = trie.token(node);
                if (t >= 0) { bestId = t; bestEnd = j + 1; }
            }
            if (bestId < 0) throw noToken(b, i);
            out.add(bestId);
            i = bestEnd;
        }
    }

    private int[][] optimal(byte[] b, PreTokenizerRegex.IntList out, int[][] scratch) {
        int n = b.length;
        if (scratch[0].length < n + 1) scratch = new int[][]{new int[2 * n + 1], new int[2 * n + 1], new int[2 * n + 1]};
        int[] cost = scratch[0], choice = scratch[1], endOf = scratch[2]; // best token starting at i, and its end
        cost[n] = 0;
        for (int i = n - 1; i >= 0; i--) {
            int best = Integer.MAX_VALUE, bestId = -1, bestEnd = -1;
            int node = 0;
            for (int j = i; j < n; j++) {
                node = trie.child(node, b[j]);
                if (node < 0) break;
                int t = trie.token(node);
                if (t >= 0 && cost[j + 1] != Integer.MAX_VALUE && cost[j + 1] + 1 <= best) {
                    best = cost[j + 1] + 1; // <=: a longer token with equal cost wins
                    bestId = t;
                    bestEnd = j + 1;
                }
            }
            cost[i] = best;
            choice[i] = bestId;
            endOf[i] = bestEnd;
        }
        if (cost[0] == Integer.MAX_VALUE) {
            for (int i = 0; i < n; i++) if (trie.child(0, b[i]) < 0 || trie.token(trie.child(0, b[i])) < 0) throw noToken(b, i);
            throw noToken(b, 0);
        }
        for (int i = 0; i < n; i = endOf[i]) out.add(choice[i]);
        return scratch;
    }

    private IllegalArgumentException noToken(byte[] b, int at) {
        return new IllegalArgumentException(vocab.source() + ": no vocabulary token covers byte 0x"
                + String.format("%02x", b[at] & 0xFF) + " (merge-free encoding needs every byte as a token)");
    }

    @Override public int vocabSize() { return base.vocabSize(); }
    @Override public byte[] tokenBytes(int id) { return base.tokenBytes(id); }
    @Override public String decode(int[] ids) { return base.decode(ids); }
    @Override public String tokenText(int id) { return base.tokenText(id); }
    @Override public int bos() { return base.bos(); }
    @Override public int eos() { return base.eos(); }
    @Override public boolean isEndOfGeneration(int id) { return base.isEndOfGeneration(id); }
    @Override public boolean isControl(int id) { return base.isControl(id); }

    @Override
    public String toString() {
        return "MergeFreeEncoder[" + mode + ", " + base + "]";
    }

    /** A byte trie: children in one open-addressing table keyed by (node, byte). Node 0 is the root. */
    static final class ByteTrie {
        private long[] keys = new long[1 << 12];
        private int[] vals = new int[1 << 12];
        private int size;
        private int[] tokenOf = new int[1 << 10];
        private int nodes = 1;

        ByteTrie() {
            Arrays.fill(keys, -1L);
            Arrays.fill(tokenOf, -1);
        }

        private static int hash(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 31));
        }

        int child(int node, byte b) {
            long k = ((long) node << 8) | (b & 0xFF);
            int mask = keys.length - 1;
            for (int i = hash(k) & mask; ; i = (i + 1) & mask) {
                long kk = keys[i];
                if (kk == k) return vals[i];
                if (kk == -1L) return -1;
            }
        }

        int token(int node) { return tokenOf[node]; }

        /** Adds a token (the first id inserted for a byte string is kept). */
        void insert(byte[] b, int id) {
            int node = 0;
            for (byte x : b) {
                int c = child(node, x);
                if (c < 0) c = addChild(node, x);
                node = c;
            }
            if (tokenOf[node] < 0) tokenOf[node] = id;
        }

        private int addChild(int node, byte b) {
            if ((size + 1) * 2 > keys.length) rehash();
            int c = nodes++;
            if (c >= tokenOf.length) {
                int old = tokenOf.length;
                tokenOf = Arrays.copyOf(tokenOf, old * 2);
                Arrays.fill(tokenOf, old, tokenOf.length, -1);
            }
            put(((long) node << 8) | (b & 0xFF), c);
            return c;
        }

        private void put(long k, int v) {
            int mask = keys.length - 1;
            int i = hash(k) & mask;
            while (keys[i] != -1L) i = (i + 1) & mask;
            keys[i] = k;
            vals[i] = v;
            size++;
        }

        private void rehash() {
            long[] ok = keys;
            int[] ov = vals;
            keys = new long[ok.length * 2];
            vals = new int[ok.length * 2];
            Arrays.fill(keys, -1L);
            size = 0;
            for (int i = 0; i < ok.length; i++) if (ok[i] != -1L) put(ok[i], ov[i]);
        }
    }
}
