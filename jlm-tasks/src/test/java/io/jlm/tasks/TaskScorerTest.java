package io.jlm.tasks;

import io.jlm.models.LanguageModel;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class TaskScorerTest {

    @Test
    void copyOracleIsPerfectAndUniformModelIsChance() {
        CopyTask task = new CopyTask(10, 5);
        int L = task.length();
        // oracle: after reading position p >= L (SEP or copied tokens), the next token is seen[p - L]
        LanguageModel oracle = FakeModels.model(task.vocabSize(), (seen, n, out) -> {
            int p = n - 1;
            if (p >= L && p < 2 * L) out[seen[p - L]] = 10;
        });
        TaskScorer.Result r = TaskScorer.score(oracle, task, 20, 3);
        assertEquals(20, r.examples());
        assertEquals(20L * L, r.scored());
        assertEquals(1.0, r.accuracy());
        assertEquals(1.0, r.exactMatch());

        // uniform logits: argmax is token 0; NLL is log(V) exactly
        LanguageModel uniform = FakeModels.model(task.vocabSize(), (seen, n, out) -> {});
        TaskScorer.Result u = TaskScorer.score(uniform, task, 20, 3);
        long zeros = 0;
        Random rnd = new Random(3);
        int exact = 0;
        for (int i = 0; i < 20; i++) {
            Example e = task.sample(rnd);
            int z = 0;
            for (int t : e.targets()) if (t == 0) z++;
            zeros += z;
            if (z == e.scoredCount()) exact++;
        }
        assertEquals(zeros, u.correct());
        assertEquals(exact, u.exact());
        assertEquals(Math.log(task.vocabSize()), u.meanNll(), 1e-6);
    }

    @Test
    void rejectsModelWithTooSmallVocabulary() {
        MultiQueryRecall t = new MultiQueryRecall(4, 2, 8, 8);
        LanguageModel small = FakeModels.model(10, (seen, n, out) -> {});
        assertThrows(IllegalArgumentException.class, () -> TaskScorer.score(small, t, 2, 1));
    }

    @Test
    void registryBuildsEveryTaskAndRejectsUnknownParameters() {
        for (String name : Tasks.names()) {
            if (name.equals("passkey-text")) continue;
            Task t = Tasks.create(name, java.util.Map.of(), null);
            Example e = t.sample(new Random(1));
            assertEquals(t.sequenceLength(), e.length(), name);
            assertTrue(e.scoredCount() > 0, name);
            assertTrue(e.maxToken() < t.vocabSize(), name);
        }
        assertEquals(new MultiQueryRecall(3, 2, 10, 5), Tasks.create("mqar",
                Tasks.parseParams(java.util.List.of("pairs=3", "queries=2", "keys=10", "values=5")), null));
        assertThrows(IllegalArgumentException.class, () -> Tasks.create("mqar", java.util.Map.of("bogus", "1"), null));
        assertThrows(IllegalArgumentException.class, () -> Tasks.create("nope", java.util.Map.of(), null));
        assertThrows(IllegalArgumentException.class, () -> Tasks.create("copy", java.util.Map.of("length", "x"), null));
        assertThrows(IllegalArgumentException.class, () -> Tasks.create("passkey-text", java.util.Map.of(), null));
    }
}
