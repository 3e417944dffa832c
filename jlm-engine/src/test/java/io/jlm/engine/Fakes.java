package io.jlm.engine;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelState;
import io.jlm.tokenizers.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Test doubles: a vocabulary of byte strings and a model whose argmax follows a script. */
final class Fakes {

    /** Token i stands for bytes[i]; ids 0..2 are BOS, EOS, EOT (control). Encoding is greedy longest match. */
    static final class FakeTokenizer implements Tokenizer {
        final List<byte[]> vocab = new ArrayList<>();
        final Map<String, Integer> specials = new HashMap<>();

        FakeTokenizer(String... pieces) {
            add("<s>"); add("</s>"); add("<|eot|>");
            specials.put("<s>", 0); specials.put("</s>", 1); specials.put("<|eot|>", 2);
            for (String p : pieces) add(p);
        }

        void add(String s) { vocab.add(s.getBytes(StandardCharsets.UTF_8)); }

        int addBytes(byte... b) { vocab.add(b); return vocab.size() - 1; }

        int id(String piece) {
            byte[] b = piece.getBytes(StandardCharsets.UTF_8);
            for (int i = 3; i < vocab.size(); i++) if (java.util.Arrays.equals(vocab.get(i), b)) return i;
            throw new IllegalArgumentException("no token " + piece);
        }

        @Override public int vocabSize() { return vocab.size(); }

        @Override
        public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
            List<Integer> out = new ArrayList<>();
            if (addSpecial) out.add(0);
            int i = 0;
            outer:
            while (i < text.length()) {
                if (parseSpecial) {
                    for (var e : specials.entrySet()) {
                        if (text.startsWith(e.getKey(), i)) { out.add(e.getValue()); i += e.getKey().length(); continue outer; }
                    }
                }
                int best = -1, bestLen = 0;
                for (int t = 3; t < vocab.size(); t++) {
                    String s = new String(vocab.get(t), StandardCharsets.UTF_8);
                    if (s.length() > bestLen && text.startsWith(s, i)) { best = t; bestLen = s.length(); }
                }
                if (best < 0) throw new IllegalArgumentException("cannot encode " + text.substring(i));
                out.add(best);
                i += bestLen;
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        }

        @Override public byte[] tokenBytes(int id) { return id < 3 ? new byte[0] : vocab.get(id); }

        @Override
        public String decode(int[] ids) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int id : ids) b.writeBytes(tokenBytes(id));
            return b.toString(StandardCharsets.UTF_8);
        }

        @Override public String tokenText(int id) { return new String(vocab.get(id), StandardCharsets.UTF_8); }
        @Override public int bos() { return 0; }
        @Override public int eos() { return 1; }
        @Override public boolean isEndOfGeneration(int id) { return id == 1 || id == 2; }
        @Override public boolean isControl(int id) { return id < 3; }
    }

    static final class FakeState implements ModelState {
        final int capacity;
        int position;
        int rewinds;

        FakeState(int capacity) { this.capacity = capacity; }

        @Override public int position() { return position; }
        @Override public int capacity() { return capacity; }
        @Override public void rewind(int p) { position = p; rewinds++; }
        @Override public long bytes() { return 0; }
    }

    /**
     * After processing position p the argmax is {@code script[p]} (or {@code fallback} beyond the script), with a
     * margin of 10 over every other token, so greedy sampling replays the script.
     */
    static final class ScriptedModel implements LanguageModel {
        final int vocab;
        final int[] script;
        final int fallback;
        final List<Integer> batchSizes = new ArrayList<>();
        int tokensEvaluated;

        ScriptedModel(int vocab, int fallback, int... script) {
            this.vocab = vocab;
            this.script = script;
            this.fallback = fallback;
        }

        @Override public ModelConfig config() { return new ModelConfig("fake", "fake", 8, 1, 1, 1, 8, 8, vocab, 1024); }
        @Override public ModelState newState(int maxContext) { return new FakeState(maxContext); }

        @Override
        public float[] forward(ModelState s, int[] tokens, boolean allLogits) {
            FakeState st = (FakeState) s;
            if (st.position + tokens.length > st.capacity) throw new IllegalStateException("overflow");
            batchSizes.add(tokens.length);
            tokensEvaluated += tokens.length;
            int rows = allLogits ? tokens.length : 1;
            float[] out = new float[rows * vocab];
            for (int r = 0; r < rows; r++) {
                int p = st.position + (allLogits ? r : tokens.length - 1);
                int next = p < script.length ? script[p] : fallback;
                for (int v = 0; v < vocab; v++) out[r * vocab + v] = (v * 7 % 5) * 0.1f;
                out[r * vocab + next] = 10f;
            }
            st.position += tokens.length;
            return out;
        }

        @Override public void close() { }
    }

    private Fakes() { }
}
