package io.jlm.tokenizers;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Trains a byte-level BPE vocabulary (GPT-2 style) from text.
 *
 * <p>The text is split around the special tokens, pre-tokenized by a llama.cpp pre-tokenizer type
 * ({@link PreTokenizerType}, default {@code gpt-2}) and the distinct words counted. Every word starts as its UTF-8
 * bytes; the trainer then repeatedly merges the most frequent adjacent pair of symbols (ties: the pair with the
 * smaller left id, then the smaller right id) until the vocabulary has {@link #vocabSize} tokens or no pair occurs
 * {@link #minFrequency} times. Pair counts are updated incrementally: a merge only revisits the words that contain
 * the merged pair, and a lazy priority queue (stale entries are re-queued with their current count when popped)
 * finds the next pair, so a merge costs time proportional to the words it touches, not to the corpus.
 *
 * <p>Token layout of the result: the special tokens first (ids {@code 0..k-1}, CONTROL), then the 256 byte tokens in
 * byte order (the token for byte {@code b} is {@code k + b}, its text GPT-2's character for {@code b}), then one token
 * per merge in merge order (a merge whose concatenation already is a token reuses that token, so there may be
 * slightly more merges than merged tokens).
 */
public final class BpeTrainer {

    private final int vocabSize;
    private final List<String> specialTokens;
    private final PreTokenizerType preType;
    private final int minFrequency;

    /**
     * @param vocabSize     target number of tokens (special + 256 bytes + merged tokens)
     * @param specialTokens special tokens (at least one; the first is used as BOS and EOS)
     * @param pre           a llama.cpp {@code tokenizer.ggml.pre} name, e.g. {@code "gpt-2"}
     * @param minFrequency  a pair occurring fewer times is never merged (>= 1)
     */
    public BpeTrainer(int vocabSize, List<String> specialTokens, String pre, int minFrequency) {
        if (specialTokens == null || specialTokens.isEmpty()) {
            throw new IllegalArgumentException("BPE trainer: at least one special token is needed (it becomes BOS/EOS), e.g. <|endoftext|>");
        }
        if (vocabSize < specialTokens.size() + 256) {
            throw new IllegalArgumentException("BPE trainer: vocabulary size " + vocabSize + " is too small; expected >= "
                    + (specialTokens.size() + 256) + " (special tokens + 256 byte tokens)");
        }
        if (minFrequency < 1) throw new IllegalArgumentException("BPE trainer: minFrequency " + minFrequency + " must be >= 1");
        for (String s : specialTokens) {
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("BPE trainer: empty special token");
        }
        if (specialTokens.stream().distinct().count() != specialTokens.size()) {
            throw new IllegalArgumentException("BPE trainer: duplicate special tokens in " + specialTokens);
        }
        this.vocabSize = vocabSize;
        this.specialTokens = List.copyOf(specialTokens);
        this.preType = PreTokenizerType.forName(pre);
        this.minFrequency = minFrequency;
    }

    /** A trainer with the {@code gpt-2} pre-tokenizer, special token {@code <|endoftext|>} and minimum frequency 2. */
    public BpeTrainer(int vocabSize) {
        this(vocabSize, List.of("<|endoftext|>"), "gpt-2", 2);
    }

    public int vocabSize() { return vocabSize; }

    // ---- word counting -------------------------------------------------------------------------------------------

    /** Counts pre-tokenized words; feed texts with {@link #add} and train with {@link #train()}. */
    private final HashMap<String, long[]> wordCounts = new HashMap<>();
    private long bytesSeen;

    /** Adds a text to the training data (the text is pre-tokenized now; only word counts are kept). */
    public BpeTrainer add(String text) {
        PreTokenizer pt = preType.preTokenizer();
        for (String part : splitSpecials(text)) {
            int[] cps = PreTokenizer.codePoints(part);
            int[] lens = pt.split(cps);
            int pos = 0;
            for (int len : lens) {
                if (len > 0) {
                    String w = new String(cps, pos, len);
                    wordCounts.computeIfAbsent(w, k -> new long[1])[0]++;
                }
                pos += len;
            }
        }
        bytesSeen += text.getBytes(StandardCharsets.UTF_8).length;
        return this;
    }

    /** The text with every special token removed (the pieces between them). */
    private List<String> splitSpecials(String text) {
        List<String> parts = new ArrayList<>();
        parts.add(text);
        List<String> longestFirst = new ArrayList<>(specialTokens);
        longestFirst.sort((a, b) -> Integer.compare(b.length(), a.length()));
        for (String sp : longestFirst) {
            List<String> next = new ArrayList<>();
            for (String p : parts) {
                int from = 0, i;
                while ((i = p.indexOf(sp, from)) >= 0) {
                    if (i > from) next.add(p.substring(from, i));
                    from = i + sp.length();
                }
                if (from < p.length()) next.add(p.substring(from));
            }
            parts = next;
        }
        return parts;
    }

    // ---- training --------------------------------------------------------------------------------------------

    private static final class PairStat {
        long count;
        int[] words = new int[4];
        int nWords;

        void addWord(int w) {
            if (nWords > 0 && words[nWords - 1] == w) return;
            if (nWords == words.length) words = Arrays.copyOf(words, nWords * 2);
            words[nWords++] = w;
        }
    }

    private record Entry(long count, int left, int right) {}

    private static long key(int a, int b) { return ((long) a << 32) | (b & 0xFFFFFFFFL); }

    /** Runs BPE on the words added so far. */
    public TrainedBpe train() {
        int nSpecial = specialTokens.size();
        List<String> tokens = new ArrayList<>(vocabSize);
        tokens.addAll(specialTokens);
        Map<String, Integer> tokenIds = new HashMap<>();
        for (int i = 0; i < nSpecial; i++) tokenIds.put(specialTokens.get(i), i);
        for (int b = 0; b < 256; b++) {
            String s = String.valueOf(BpeByteEncoding.byteToChar(b));
            tokenIds.putIfAbsent(s, tokens.size());
            tokens.add(s);
        }

        // words as symbol arrays
        int nw = wordCounts.size();
        int[][] sym = new int[nw][];
        int[] len = new int[nw];
        long[] cnt = new long[nw];
        int w = 0;
        // iterate in a deterministic order (HashMap order depends only on the strings, but sort anyway)
        String[] words = wordCounts.keySet().toArray(String[]::new);
        Arrays.sort(words);
        for (String word : words) {
            byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
            int[] s = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) s[i] = nSpecial + (bytes[i] & 0xFF);
            sym[w] = s;
            len[w] = s.length;
            cnt[w] = wordCounts.get(word)[0];
            w++;
        }

        HashMap<Long, PairStat> pairs = new HashMap<>();
        for (w = 0; w < nw; w++) {
            int[] s = sym[w];
            for (int i = 0; i + 1 < len[w]; i++) {
                PairStat ps = pairs.computeIfAbsent(key(s[i], s[i + 1]), k -> new PairStat());
                ps.count += cnt[w];
                ps.addWord(w);
            }
        }
        PriorityQueue<Entry> queue = new PriorityQueue<>(Math.max(16, pairs.size()), (x, y) -> {
            int c = Long.compare(y.count, x.count);
            if (c != 0) return c;
            c = Integer.compare(x.left, y.left);
            return c != 0 ? c : Integer.compare(x.right, y.right);
        });
        for (Map.Entry<Long, PairStat> e : pairs.entrySet()) {
            long k = e.getKey();
            queue.add(new Entry(e.getValue().count, (int) (k >>> 32), (int) k));
        }

        List<String> merges = new ArrayList<>();
        int[] seen = new int[nw];
        Arrays.fill(seen, -1);
        HashMap<Long, long[]> delta = new HashMap<>();
        int step = 0;
        while (tokens.size() < vocabSize && !queue.isEmpty()) {
            Entry top = queue.poll();
            long pk = key(top.left, top.right);
            PairStat ps = pairs.get(pk);
            if (ps == null || ps.count <= 0) continue;
            if (ps.count != top.count) { // stale: re-queue with its current count
                queue.add(new Entry(ps.count, top.left, top.right));
                continue;
            }
            if (ps.count < minFrequency) break;
            int a = top.left, b = top.right;
            String merged = tokens.get(a) + tokens.get(b);
            Integer existing = tokenIds.get(merged);
            int nid;
            if (existing != null) {
                nid = existing;
            } else {
                nid = tokens.size();
                tokens.add(merged);
                tokenIds.put(merged, nid);
            }
            merges.add(tokens.get(a) + " " + tokens.get(b));

            delta.clear();
            for (int j = 0; j < ps.nWords; j++) {
                int wi = ps.words[j];
                if (seen[wi] == step) continue;
                seen[wi] = step;
                int[] s = sym[wi];
                int n = len[wi];
                boolean has = false;
                for (int i = 0; i + 1 < n; i++) if (s[i] == a && s[i + 1] == b) { has = true; break; }
                if (!has) continue;
                long c = cnt[wi];
                for (int i = 0; i + 1 < n; i++) delta.computeIfAbsent(key(s[i], s[i + 1]), k -> new long[1])[0] -= c;
                int o = 0;
                for (int i = 0; i < n; ) {
                    if (i + 1 < n && s[i] == a && s[i + 1] == b) { s[o++] = nid; i += 2; }
                    else s[o++] = s[i++];
                }
                len[wi] = n = o;
                for (int i = 0; i + 1 < n; i++) {
                    long k = key(s[i], s[i + 1]);
                    delta.computeIfAbsent(k, kk -> new long[1])[0] += c;
                    if (s[i] == nid || s[i + 1] == nid) pairs.computeIfAbsent(k, kk -> new PairStat()).addWord(wi);
                }
            }
            for (Map.Entry<Long, long[]> e : delta.entrySet()) {
                long d = e.getValue()[0];
                if (d == 0) continue;
                long k = e.getKey();
                PairStat st = pairs.computeIfAbsent(k, kk -> new PairStat());
                st.count += d;
                if (d > 0) queue.add(new Entry(st.count, (int) (k >>> 32), (int) k));
                else if (st.count <= 0) pairs.remove(k);
            }
            pairs.remove(pk);
            step++;
        }

        int n = tokens.size();
        int[] types = new int[n];
        Arrays.fill(types, Vocabulary.TYPE_NORMAL);
        for (int i = 0; i < nSpecial; i++) types[i] = Vocabulary.TYPE_CONTROL;
        return new TrainedBpe(tokens.toArray(String[]::new), types, merges.toArray(String[]::new), preType.name(),
                0, 0, wordCounts.size(), bytesSeen);
    }
}
