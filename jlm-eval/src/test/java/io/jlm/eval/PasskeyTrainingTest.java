package io.jlm.eval;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class PasskeyTrainingTest {

    @Test void trainsOnPasskeyPromptsAndExportsAModelWithTheirVocabulary(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path gguf = PasskeyTraining.run(dir, 40, 160, 2, 3, new PrintStream(log, true));
        List<String> lines = Files.readAllLines(dir.resolve("loss.csv"));
        assertEquals(41, lines.size());
        double first = Double.parseDouble(lines.get(1).split(",")[1]), last = 0;
        for (int i = 31; i <= 40; i++) last += Double.parseDouble(lines.get(i).split(",")[1]) / 10;
        assertTrue(last < first, "answer loss should drop: " + first + " -> " + last);

        Tokenizer tok = Tokenizers.fromGGUF(gguf);
        Passkey.Case c = Passkey.make(tok, 150, new Random(4));
        assertEquals(150, c.prompt().length);
        String text = tok.decode(c.prompt());
        assertTrue(text.contains("The pass key is " + c.key()), text);
        try (ThreadPool pool = new ThreadPool(1); LanguageModel lm = Models.load(gguf, pool)) {
            assertEquals(tok.vocabSize(), lm.config().vocabSize());
            float[] logits = lm.forward(lm.newState(160), c.prompt(), false);
            assertEquals(lm.config().vocabSize(), logits.length);
        }
    }
}
