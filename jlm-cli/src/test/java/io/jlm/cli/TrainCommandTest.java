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

    @Test void learningRateOptionsSetTheSchedule(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "Now is the winter of our discontent\nMade glorious summer by this sun of York;\n".repeat(60));
        Path out = dir.resolve("run");
        assertEquals(0, Main.commandLine().execute("train", "--data", text.toString(), "--out", out.toString(), "--no-progress",
                "--eval-iters", "1", "-t", "1", "--iters", "3", "--lr", "3e-3", "--warmup", "2"));
        List<String> csv = Files.readAllLines(out.resolve("loss.csv"));
        // linear warm-up over 2 iterations to the peak, as nanoGPT: lr * (it + 1) / (warmup + 1)
        assertEquals(1e-3, Double.parseDouble(csv.get(1).split(",")[1]), 1e-9, csv.get(1));
        assertEquals(2e-3, Double.parseDouble(csv.get(2).split(",")[1]), 1e-9, csv.get(2));
        CliTest.Run bad = CliTest.run("train", "--data", text.toString(), "--out", dir.resolve("bad").toString(), "--lr", "-1");
        assertNotEquals(0, bad.rc());
        assertTrue(bad.err().contains("--lr must be > 0"), bad.err());
        CliTest.Run badWarmup = CliTest.run("train", "--data", text.toString(), "--out", dir.resolve("bad").toString(),
                "--iters", "3", "--warmup", "2000");
        assertTrue(badWarmup.err().contains("--warmup must be in [0, 2000)"), badWarmup.err());
        assertFalse(Files.exists(dir.resolve("bad").resolve("loss.csv")), "nothing trained on bad options");
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
