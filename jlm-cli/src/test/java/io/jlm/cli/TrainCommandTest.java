package io.jlm.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TrainCommandTest {
    @Test void trainsWritesCsvPngCheckpointAndResumes(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n".repeat(60));
        Path out = dir.resolve("run");
        String[] common = {"train", "--data", text.toString(), "--out", out.toString(), "--no-progress", "--eval-iters", "2", "-t", "2"};
        assertEquals(0, Main.commandLine().execute(concat(common, "--iters", "3")));
        assertTrue(Files.size(out.resolve("ckpt.bin")) > 800_000 * 4, "checkpoint holds the 0.8 M parameters");
        assertTrue(Files.size(out.resolve("loss.png")) > 1000);
        assertEquals(0, Main.commandLine().execute(concat(common, "--iters", "5", "--resume")));
        List<String> csv = Files.readAllLines(out.resolve("loss.csv"));
        assertEquals("iter,lr,train_loss,val_loss,step_ms", csv.get(0));
        assertEquals(6, csv.size(), "3 + 2 resumed iterations: " + csv);
        assertTrue(csv.get(5).startsWith("4,"), csv.get(5));
        assertEquals(1, Main.commandLine().execute("train", "--preset", "nope", "--out", out.toString()));
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
