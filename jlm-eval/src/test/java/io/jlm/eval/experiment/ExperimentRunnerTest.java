package io.jlm.eval.experiment;

import io.jlm.tasks.MultiQueryRecall;
import io.jlm.tasks.Task;
import io.jlm.train.Rng;
import io.jlm.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ExperimentRunnerTest {

    static final String SPEC = """
            {
              "name": "tiny",
              "description": "test",
              "seed": 3,
              "model": {"dim": 16, "heads": 2, "ffn": 32, "window": 4, "s4dModes": 4, "position": "rope"},
              "train": {"steps": 40, "batch": 8, "lr": 0.01, "minLr": 0.001, "warmup": 4, "weightDecay": 0.0, "threads": 2, "packed": true},
              "models": [{"name": "attn", "layers": "AF"}, {"name": "mamba", "layers": "M"}, {"name": "retnet", "layers": "RF"}],
              "tasks": [{"task": "copy", "train": [{"length": "4", "alphabet": "4"}],
                         "eval": [{"length": "4", "alphabet": "4"}, {"length": "6", "alphabet": "4"}], "evalExamples": 16}],
              "decode": {"contexts": [80, 200], "tokens": 4}
            }
            """;

    /** The one entry of {@link #SPEC}'s {@code tasks} list. */
    static final String COPY_TASK = SPEC.substring(SPEC.indexOf("{\"task\""), SPEC.indexOf("\"evalExamples\": 16}") + "\"evalExamples\": 16}".length());

    @Test void paddedTaskBatchesScoreOnlyTheTaskPositions() {
        List<Task> variants = List.of(new MultiQueryRecall(2, 2, 8, 8), new MultiQueryRecall(4, 4, 8, 8));
        int t = 17;
        int[] ids = new int[4 * t], targets = new int[4 * t];
        Trainer.BatchSource src = ExperimentRunner.batches(variants, new int[2], () -> 0, t);
        src.fill(new Rng(1), ids, targets);
        for (int row = 0; row < 4; row++) {
            int scored = 0, last = -1;
            for (int i = 0; i < t; i++) if (targets[row * t + i] >= 0) { scored++; last = i; }
            assertTrue(scored == 2 || scored == 4, "row " + row + " scores " + scored + " positions");
            for (int i = last + 2; i < t; i++) assertEquals(-1, targets[row * t + i], "padding is not scored");
        }
    }

    @Test void packedBatchesHoldWholeExamplesWithTheirDocumentStarts() {
        List<Task> variants = List.of(new MultiQueryRecall(2, 2, 8, 8));   // 9 tokens each
        int t = 20;
        int[] ids = new int[2 * t], targets = new int[2 * t], docStart = new int[2 * t];
        Trainer.BatchSource src = ExperimentRunner.packedBatches(variants, new int[1], () -> 0, t);
        assertTrue(src.packed());
        src.fill(new Rng(1), ids, targets, docStart);
        for (int row = 0; row < 2; row++) {
            for (int i = 0; i < 9; i++) assertEquals(0, docStart[row * t + i]);
            for (int i = 9; i < 18; i++) assertEquals(9, docStart[row * t + i]);
            assertEquals(8 + 8, ids[row * t + 13], "second example's separator");
            for (int i = 18; i < t; i++) assertEquals(-1, targets[row * t + i]);
        }
    }

    @Test void runsTrainsScoresTimesAndWritesTheReport(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("tiny.json");
        Files.writeString(spec, SPEC);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ExperimentRunner.Result res = new ExperimentRunner(ExperimentSpec.read(spec), new PrintStream(log, true))
                .run(dir.resolve("out"), "jlm experiment run tiny.json");
        assertEquals(3, res.runs().size());
        for (ExperimentRunner.Run r : res.runs()) {
            assertTrue(r.loss()[r.loss().length - 1] < r.loss()[0], r.model() + " loss did not drop");
            assertArrayEquals(new int[]{9, 13}, r.evalLengths());
            for (double a : r.accuracy()) assertTrue(a >= 0 && a <= 1, "accuracy " + a);
        }
        assertEquals(3, res.decodes().size());
        ExperimentRunner.Decode mamba = res.decodes().get(1), attn = res.decodes().get(0);
        assertEquals(mamba.stateBytes()[0], mamba.stateBytes()[1], "SSM state does not grow with context");
        assertTrue(attn.stateBytes()[1] > attn.stateBytes()[0], "attention KV grows with context");
        String report = Files.readString(dir.resolve("out/report.md"));
        assertTrue(report.contains("| attn |") && report.contains("acc @13") && report.contains("tok/s @200"), report);
        for (String f : new String[]{"copy-loss.png", "copy-accuracy.png", "decode.png", "loss.csv", "decode.csv", "copy-accuracy.csv"})
            assertTrue(Files.size(dir.resolve("out").resolve(f)) > 0, f);
    }

    @Test void badSpecsNameTheFileAndTheField(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("bad.json");
        String e = refusal(spec, SPEC.replace("\"steps\": 40", "\"steps\": 0"));
        assertTrue(e.contains("bad.json") && e.contains("steps"), e);
        e = refusal(spec, SPEC.replace("\"seed\": 3,", "\"seed\": 3, \"sede\": 1,"));
        assertTrue(e.contains("sede"), e);
        e = refusal(spec, SPEC.replace("\"seed\": 3,", ""));
        assertTrue(e.contains("seed"), e);
        e = refusal(spec, "{ not json");
        assertTrue(e.contains("not valid JSON"), e);
        assertThrows(IllegalArgumentException.class, () -> ExperimentSpec.read(dir.resolve("missing.json")));
    }

    @Test void curriculumVariantsJoinTheMixAtTheirStep() {
        List<Task> variants = List.of(new MultiQueryRecall(2, 2, 8, 8), new MultiQueryRecall(4, 4, 8, 8));
        int t = 17, rows = 64;
        int[] step = {0};
        Trainer.BatchSource src = ExperimentRunner.batches(variants, new int[]{0, 5}, () -> step[0], t);
        Rng rng = new Rng(2);
        for (int s : new int[]{0, 4, 5, 9}) {
            step[0] = s;
            int[] ids = new int[rows * t], targets = new int[rows * t];
            src.fill(rng, ids, targets);
            int four = 0;
            for (int row = 0; row < rows; row++) {
                int scored = 0;
                for (int i = 0; i < t; i++) if (targets[row * t + i] >= 0) scored++;
                if (scored == 4) four++;
            }
            if (s < 5) assertEquals(0, four, "step " + s + ": 4-pair examples before their fromStep");
            else assertTrue(four > 10 && four < rows - 10, "step " + s + ": " + four + " of " + rows + " rows with 4 pairs");
        }
    }

    @Test void withoutACurriculumTheDrawsAreUnchanged() {
        List<Task> variants = List.of(new MultiQueryRecall(2, 2, 8, 8), new MultiQueryRecall(4, 4, 8, 8));
        int t = 17;
        int[] a = new int[16 * t], ta = new int[16 * t], b = new int[16 * t], tb = new int[16 * t];
        ExperimentRunner.batches(variants, new int[]{0, 0}, () -> 3, t).fill(new Rng(9), a, ta);
        // the plain form, written out: one nextInt over all variants per row
        Rng r = new Rng(9);
        for (int row = 0; row < 16; row++) {
            io.jlm.tasks.Example e = variants.get(r.nextInt(2)).sample(r);
            System.arraycopy(e.tokens(), 0, b, row * t, e.length());
            System.arraycopy(e.targets(), 0, tb, row * t, e.length());
            java.util.Arrays.fill(tb, row * t + e.length(), row * t + t, -1);
        }
        assertArrayEquals(b, a);
        assertArrayEquals(tb, ta);
    }

    @Test void badFromStepsNameTheEntry(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("cur.json");
        String train = "\"train\": [{\"length\": \"4\", \"alphabet\": \"4\"}]";
        assertTrue(SPEC.contains(train));
        String e = refusal(spec, SPEC.replace(train, "\"train\": [{\"length\": \"4\", \"alphabet\": \"4\", \"fromStep\": \"40\"}]"));
        assertTrue(e.contains("cur.json") && e.contains("tasks[0].train[0].fromStep")
                && e.contains("[0, 40)"), e);
        e = refusal(spec, SPEC.replace(train, "\"train\": [{\"length\": \"4\", \"alphabet\": \"4\", \"fromStep\": \"x\"}]"));
        assertTrue(e.contains("'x'"), e);
        e = refusal(spec, SPEC.replace(train, "\"train\": [{\"length\": \"4\", \"alphabet\": \"4\", \"fromStep\": \"3\"}]"));
        assertTrue(e.contains("from step 0"), e);
        e = refusal(spec, SPEC.replace("\"eval\": [{\"length\": \"4\", \"alphabet\": \"4\"}",
                "\"eval\": [{\"length\": \"4\", \"alphabet\": \"4\", \"fromStep\": \"1\"}"));
        assertTrue(e.contains("tasks[0].eval[0]") && e.contains("train entries only"), e);
        Files.writeString(spec, SPEC.replace(train, "\"train\": [{\"length\": \"4\", \"alphabet\": \"4\"}, "
                + "{\"length\": \"6\", \"alphabet\": \"4\", \"fromStep\": \"20\"}]"));
        assertEquals(20, ExperimentSpec.fromStep(ExperimentSpec.read(spec).tasks().get(0).train().get(1)));
    }

    @Test void badInitStdsAndTaskLabelsNameTheField(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("lab.json");
        String model = "\"position\": \"rope\"}";
        assertTrue(SPEC.contains(model));
        String e = refusal(spec, SPEC.replace(model, "\"position\": \"rope\", \"initStd\": -0.1}"));
        assertTrue(e.contains("lab.json") && e.contains("model.initStd"), e);
        Files.writeString(spec, SPEC.replace(model, "\"position\": \"rope\", \"initStd\": 0.07}"));
        assertEquals(0.07f, ExperimentSpec.read(spec).model().init());
        Files.writeString(spec, SPEC);
        assertEquals(io.jlm.train.Model.DEFAULT_INIT_STD, ExperimentSpec.read(spec).model().init());
        e = refusal(spec, SPEC.replace("{\"task\": \"copy\",", "{\"task\": \"copy\", \"label\": \"copy 4\","));
        assertTrue(e.contains("tasks[0].label") && e.contains("'copy 4'"), e);
        e = refusal(spec, SPEC.replace(COPY_TASK, COPY_TASK + ", " + COPY_TASK));
        assertTrue(e.contains("tasks[0] and tasks[1]") && e.contains("'copy'"), e);
    }

    @Test void labelledTasksTrainTheSameTaskInTwoRegimesWithTheirOwnFiles(@TempDir Path dir) throws Exception {
        String longer = COPY_TASK.replace("{\"task\": \"copy\",", "{\"task\": \"copy\", \"label\": \"copy-6\",")
                .replace("\"train\": [{\"length\": \"4\"", "\"train\": [{\"length\": \"6\"");
        Path spec = dir.resolve("two.json");
        Files.writeString(spec, SPEC.replace(COPY_TASK, COPY_TASK + ", " + longer)
                .replace("{\"name\": \"mamba\", \"layers\": \"M\"}, {\"name\": \"retnet\", \"layers\": \"RF\"}", "")
                .replace("{\"name\": \"attn\", \"layers\": \"AF\"}, ", "{\"name\": \"attn\", \"layers\": \"AF\"}")
                .replace("\"position\": \"rope\"}", "\"position\": \"rope\", \"initStd\": 0.1}")
                .replace(",\n  \"decode\": {\"contexts\": [80, 200], \"tokens\": 4}", ""));
        ExperimentRunner.Result res = new ExperimentRunner(ExperimentSpec.read(spec), new PrintStream(new ByteArrayOutputStream(), true))
                .run(dir.resolve("out"), "jlm experiment run two.json");
        assertEquals(List.of("copy", "copy-6"), res.runs().stream().map(ExperimentRunner.Run::task).toList());
        for (String f : new String[]{"copy-accuracy.csv", "copy-6-accuracy.csv", "copy-6-loss.png", "models/copy-6-attn.gguf"})
            assertTrue(Files.size(dir.resolve("out").resolve(f)) > 0, f);
        String report = Files.readString(dir.resolve("out/report.md"));
        assertTrue(report.contains("## copy-6 (task `copy`)") && report.contains("init std 0.1;"), report);
    }

    /** Writes {@code text} to {@code spec} and returns the message with which reading it is refused. */
    private static String refusal(Path spec, String text) throws Exception {
        Files.writeString(spec, text);
        return assertThrows(IllegalArgumentException.class, () -> ExperimentSpec.read(spec)).getMessage();
    }
}
