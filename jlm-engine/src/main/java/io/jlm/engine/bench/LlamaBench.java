package io.jlm.engine.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs llama.cpp's {@code llama-bench} and reads its {@code -o json} output: a JSON array with one object
 * per test, of which jlm uses {@code n_prompt}, {@code n_gen}, {@code n_threads}, {@code avg_ts},
 * {@code stddev_ts} and {@code model_type}.
 */
public final class LlamaBench {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LlamaBench() {}

    /** One llama-bench test result. */
    public record Entry(int nPrompt, int nGen, int threads, double avgTs, double stddevTs, String modelType) {
        /** The test name as llama-bench and jlm print it: {@code pp512}, {@code tg128} or {@code pp512+tg128}. */
        public String name() {
            if (nGen == 0) return "pp" + nPrompt;
            if (nPrompt == 0) return "tg" + nGen;
            return "pp" + nPrompt + "+tg" + nGen;
        }
    }

    /** Parses llama-bench's {@code -o json} output; {@code source} names it in error messages. */
    public static List<Entry> parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": not valid JSON (expected llama-bench -o json output): "
                    + e.getOriginalMessage());
        }
        if (root == null || !root.isArray()) {
            throw new IllegalArgumentException(source + ": expected a JSON array of test results, got "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode t = root.get(i);
            String where = source + ": test #" + i;
            if (!t.isObject()) throw new IllegalArgumentException(where + ": expected an object, got " + t.getNodeType());
            int nPrompt = intField(t, "n_prompt", where), nGen = intField(t, "n_gen", where);
            int threads = intField(t, "n_threads", where);
            double avg = numberField(t, "avg_ts", where);
            double sd = t.has("stddev_ts") ? numberField(t, "stddev_ts", where) : 0;
            if (nPrompt < 0 || nGen < 0 || nPrompt + nGen == 0) {
                throw new IllegalArgumentException(where + ": expected n_prompt, n_gen >= 0 and not both 0, got "
                        + nPrompt + ", " + nGen);
            }
            out.add(new Entry(nPrompt, nGen, threads, avg, sd, t.path("model_type").asText("")));
        }
        return out;
    }

    private static JsonNode field(JsonNode t, String name, String where) {
        JsonNode v = t.get(name);
        if (v == null || !v.isNumber()) {
            throw new IllegalArgumentException(where + ": field \"" + name + "\" must be a number, got "
                    + (v == null ? "nothing" : v.toString()));
        }
        return v;
    }

    private static int intField(JsonNode t, String name, String where) {
        JsonNode v = field(t, name, where);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException(where + ": field \"" + name + "\" must be an integer, got " + v);
        }
        return v.intValue();
    }

    private static double numberField(JsonNode t, String name, String where) {
        return field(t, name, where).doubleValue();
    }

    /**
     * The llama-bench command line for one kind of test: prompt processing ({@code -p N -n 0}) when
     * {@code prompt} is true, else text generation ({@code -n N -p 0}), for each of the given sizes and
     * thread counts.
     */
    public static List<String> command(Path executable, Path model, boolean prompt, int[] sizes, int[] threads,
                                       int repetitions) {
        String sz = join(sizes);
        return List.of(executable.toString(), "-m", model.toString(),
                "-p", prompt ? sz : "0", "-n", prompt ? "0" : sz,
                "-t", join(threads), "-r", Integer.toString(repetitions), "-o", "json");
    }

    /** Runs {@code command} (a llama-bench invocation) and parses its JSON output. */
    public static List<Entry> run(List<String> command) throws IOException, InterruptedException {
        Path err = Files.createTempFile("llama-bench", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(1, TimeUnit.HOURS)) {
                p.destroyForcibly();
                throw new IOException("llama-bench did not finish within an hour: " + String.join(" ", command));
            }
            if (p.exitValue() != 0) {
                List<String> lines = Files.readAllLines(err);
                String tail = lines.subList(Math.max(0, lines.size() - 10), lines.size()).stream()
                        .collect(Collectors.joining("\n  "));
                throw new IOException("llama-bench exited with " + p.exitValue() + ": " + String.join(" ", command)
                        + "\n  " + tail);
            }
            return parse(out, "output of " + command.getFirst());
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static String join(int[] v) {
        StringBuilder sb = new StringBuilder();
        for (int x : v) sb.append(sb.isEmpty() ? "" : ",").append(x);
        return sb.toString();
    }
}
