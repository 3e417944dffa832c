package io.jlm.tasks;

import io.jlm.core.SharedData;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Invariants of every generator, checked on many samples. */
class TaskGeneratorsTest {

    static final int N = 300;

    static void common(Task t) {
        Random a = new Random(42), b = new Random(42);
        for (int i = 0; i < 20; i++) assertEquals(t.sample(a), t.sample(b), t.name() + ": same seed, same examples");
        Random c = new Random(1);
        Set<Example> distinct = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            Example e = t.sample(c);
            distinct.add(e);
            assertEquals(t.sequenceLength(), e.length(), t.name());
            for (int x : e.tokens()) assertTrue(x >= 0 && x < t.vocabSize(), t.name() + " token " + x);
            for (int i2 = 0; i2 + 1 < e.length(); i2++) {
                if (e.targets()[i2] >= 0) assertEquals(e.tokens()[i2 + 1], e.targets()[i2]);
            }
        }
        assertTrue(distinct.size() > 1, t.name() + ": examples vary");
    }

    @Test
    void mqar() {
        MultiQueryRecall t = new MultiQueryRecall(6, 4, 10, 7);
        common(t);
        Random rnd = new Random(5);
        for (int s = 0; s < N; s++) {
            Example e = t.sample(rnd);
            int[] x = e.tokens();
            Map<Integer, Integer> kv = new HashMap<>();
            for (int i = 0; i < 2 * t.pairs(); i += 2) {
                assertTrue(x[i] < t.keys(), "key range");
                assertTrue(x[i + 1] >= t.keys() && x[i + 1] < t.keys() + t.values(), "value range");
                assertNull(kv.put(x[i], x[i + 1]), "keys distinct");
            }
            assertEquals(t.separator(), x[2 * t.pairs()]);
            Set<Integer> asked = new HashSet<>();
            for (int i = 0; i < e.length(); i++) {
                if (e.targets()[i] < 0) continue;
                assertTrue(i > 2 * t.pairs());
                assertEquals(kv.get(x[i]), e.targets()[i], "the value stored for the queried key");
                assertTrue(asked.add(x[i]), "queries distinct");
            }
            assertEquals(t.queries(), e.scoredCount());
        }
    }

    @Test
    void copyAndInduction() {
        CopyTask c = new CopyTask(9, 4);
        common(c);
        InductionTask ind = new InductionTask(30, 6);
        common(ind);
        Random rnd = new Random(6);
        for (int s = 0; s < N; s++) {
            Example e = c.sample(rnd);
            int[] x = e.tokens();
            assertArrayEquals(Arrays.copyOfRange(x, 0, 9), Arrays.copyOfRange(x, 10, 19));
            assertEquals(c.separator(), x[9]);
            assertEquals(9, e.scoredCount());
            for (int i = 9; i < 18; i++) assertEquals(x[i - 9], e.targets()[i]);

            Example f = ind.sample(rnd);
            int[] y = f.tokens();
            int first = -1, count = 0;
            for (int i = 0; i < y.length; i++) if (y[i] == ind.trigger()) { count++; if (first < 0) first = i; }
            assertEquals(2, count, "trigger exactly twice");
            assertEquals(ind.trigger(), y[y.length - 2]);
            assertEquals(1, f.scoredCount());
            assertEquals(y[first + 1], f.targets()[y.length - 2], "the token that followed the first trigger");
        }
    }

    @Test
    void selectiveCopy() {
        SelectiveCopy t = new SelectiveCopy(20, 5, 4);
        common(t);
        Random rnd = new Random(7);
        for (int s = 0; s < N; s++) {
            Example e = t.sample(rnd);
            int[] x = e.tokens();
            int[] data = Arrays.stream(Arrays.copyOfRange(x, 0, 20)).filter(v -> v != t.noise()).toArray();
            assertEquals(5, data.length);
            assertEquals(t.go(), x[20]);
            assertArrayEquals(data, Arrays.copyOfRange(x, 21, 26));
            assertEquals(5, e.scoredCount());
            for (int j = 0; j < 5; j++) assertEquals(data[j], e.targets()[20 + j]);
        }
    }

    @Test
    void passkey() {
        for (double depth : new double[]{0, 0.25, 0.5, 1}) {
            PasskeyTask t = new PasskeyTask(100, depth, 5, 7);
            common(t);
            Random rnd = new Random(8);
            for (int s = 0; s < 50; s++) {
                Example e = t.sample(rnd);
                int[] x = e.tokens();
                int kp = -1, qp = -1;
                for (int i = 0; i < x.length; i++) {
                    if (x[i] == t.keyMarker()) { assertEquals(-1, kp); kp = i; }
                    if (x[i] == t.queryMarker()) { assertEquals(-1, qp); qp = i; }
                }
                assertEquals(t.keyPosition(), kp);
                assertEquals((int) Math.round(depth * (100 - 12)), kp);
                assertEquals(100 - 6, qp);
                assertArrayEquals(Arrays.copyOfRange(x, kp + 1, kp + 6), Arrays.copyOfRange(x, qp + 1, qp + 6));
                for (int i = 0; i < x.length; i++) {
                    boolean inKey = i > kp && i <= kp + 5, inAns = i > qp;
                    if (inKey || inAns) assertTrue(x[i] < 10, "digits");
                    else if (i != kp && i != qp) assertTrue(x[i] >= 10 && x[i] < 17, "filler");
                }
                assertEquals(5, e.scoredCount());
                for (int i = qp; i < qp + 5; i++) assertTrue(e.targets()[i] >= 0);
            }
        }
    }

    @Test
    void phonebook() {
        PhonebookTask t = new PhonebookTask(12, 5, 2, 3, 6);
        common(t);
        Random rnd = new Random(9);
        int el = 2 + 3 + 2;
        for (int s = 0; s < N; s++) {
            Example e = t.sample(rnd);
            int[] x = e.tokens();
            Map<List<Integer>, List<Integer>> book = new HashMap<>();
            for (int k = 0; k < 12; k++) {
                int p = k * el;
                assertEquals(t.colon(), x[p + 2]);
                assertEquals(t.semicolon(), x[p + 6]);
                assertNull(book.put(List.of(x[p], x[p + 1]), List.of(x[p + 3], x[p + 4], x[p + 5])), "names distinct");
            }
            Set<List<Integer>> asked = new HashSet<>();
            for (int q = 0; q < 5; q++) {
                int p = 12 * el + q * (el + 1);
                assertEquals(t.query(), x[p]);
                List<Integer> name = List.of(x[p + 1], x[p + 2]);
                assertTrue(asked.add(name));
                List<Integer> number = book.get(name);
                assertNotNull(number);
                for (int j = 0; j < 3; j++) assertEquals(number.get(j), e.targets()[p + 3 + j]);
            }
            assertEquals(15, e.scoredCount());
        }
    }

    @Test
    void quantizedRegression() {
        LinearRegressionTask lr = new LinearRegressionTask(3, 5, 0.1);
        QuantizedRegressionTask t = new QuantizedRegressionTask(lr, 16, 3);
        common(t);
        Random a = new Random(10), b = new Random(10);
        for (int s = 0; s < 50; s++) {
            LinearRegressionTask.Sample cont = lr.sample(a);
            Example e = t.sample(b);
            assertEquals(t.tokenize(cont), e);
            for (int i = 0; i < 5; i++) {
                double y = RegressionBaselines.dot(cont.w(), cont.x()[i]);
                assertEquals(t.bin(cont.y()[i]), e.targets()[i * 4 + 2]);
                assertTrue(Math.abs(cont.y()[i] - y) < 1.0, "noise is small");
            }
            assertEquals(5, e.scoredCount());
        }
        assertEquals(0, t.bin(-100));
        assertEquals(15, t.bin(100));
        assertEquals(8, t.bin(0.0));
        assertEquals(-3 + 0.5 * 6 / 16, t.binCenter(0), 1e-12);
        for (int k = 0; k < 16; k++) assertEquals(k, t.bin(t.binCenter(k)));
    }

    @Test
    void textPasskeyWithRealTokenizer() throws Exception {
        Tokenizer tok = Tokenizers.fromGGUF(SharedData.require("conformance/tokenizers/ggml-vocab-gpt-2.gguf"));
        TextPasskeyTask t = new TextPasskeyTask(tok, 10, 0.3, 5);
        Random rnd = new Random(11);
        for (int s = 0; s < 10; s++) {
            Example e = t.sample(rnd);
            assertTrue(e.length() <= t.sequenceLength());
            String all = tok.decode(e.tokens());
            int at = all.indexOf("The pass key is ") + "The pass key is ".length();
            String key = all.substring(at, at + 5);
            assertTrue(key.chars().allMatch(Character::isDigit), key);
            assertTrue(all.endsWith("The pass key is " + key), all.substring(all.length() - 40));
            // the scored targets decode to the answer
            int[] ans = Arrays.stream(e.targets()).filter(v -> v >= 0).toArray();
            assertEquals(" " + key, tok.decode(ans));
        }
    }
}
