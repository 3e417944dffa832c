package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * llama.cpp's tokenizer test vectors: for every {@code ggml-vocab-X.gguf} with {@code .inp}/{@code .out} files, each
 * test string must tokenize (no BOS, no special-token parsing, as llama.cpp's test-tokenizer-0) to exactly the ids
 * in the matching {@code .out} line. One container per family, one test per string.
 */
class TokenizerConformanceTest {

    static final String DELIMITER = "\n__ggml_vocab_test__\n";

    /** Test strings of a {@code .inp} file: each string is followed by the delimiter line. */
    static List<String> readInputs(Path inp) throws IOException {
        String raw = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> out = new ArrayList<>();
        int pos = 0;
        while (true) {
            int next = raw.indexOf(DELIMITER, pos);
            if (next < 0) break;
            out.add(raw.substring(pos, next));
            pos = next + DELIMITER.length();
        }
        if (!raw.substring(pos).isEmpty()) {
            throw new IllegalStateException(inp + ": text after the last '__ggml_vocab_test__' line: '" + raw.substring(pos) + "'");
        }
        return out;
    }

    /** Expected ids of a {@code .out} file: one line per string, ids separated by spaces (empty line: no tokens). */
    static List<int[]> readOutputs(Path outFile) throws IOException {
        List<int[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(outFile, StandardCharsets.UTF_8)) {
            String t = line.trim();
            out.add(t.isEmpty() ? new int[0] : Arrays.stream(t.split("\\s+")).mapToInt(Integer::parseInt).toArray());
        }
        return out;
    }

    @TestFactory
    Stream<DynamicNode> vocabTestVectors() throws IOException {
        Path dir = SharedData.require("conformance/tokenizers");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".gguf"))
                    .filter(p -> Files.exists(Path.of(p + ".inp")) && Files.exists(Path.of(p + ".out")))
                    .sorted().toList();
        }
        assertEquals(true, !files.isEmpty(), "no ggml-vocab-*.gguf with .inp/.out in " + dir);
        return files.stream().map(TokenizerConformanceTest::family);
    }

    private static DynamicNode family(Path gguf) {
        String name = gguf.getFileName().toString().replaceFirst("^ggml-vocab-", "").replaceFirst("\\.gguf$", "");
        List<String> inputs;
        List<int[]> expected;
        Tokenizer tok;
        RuntimeException loadError = null;
        try {
            inputs = readInputs(Path.of(gguf + ".inp"));
            expected = readOutputs(Path.of(gguf + ".out"));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
        try (GGUFFile f = GGUFFile.open(gguf)) {
            tok = Tokenizers.fromGGUF(f.metadata());
        } catch (IOException e) {
            throw new RuntimeException(gguf + ": " + e, e);
        } catch (RuntimeException e) {
            tok = null;
            loadError = e;
        }
        List<DynamicNode> tests = new ArrayList<>();
        final Tokenizer t = tok;
        final RuntimeException err = loadError;
        tests.add(DynamicTest.dynamicTest(name + ": load + " + inputs.size() + " strings vs " + expected.size() + " lines", () -> {
            assertEquals(inputs.size(), expected.size(), name + ": .inp and .out disagree in count");
            if (err != null) throw err;
        }));
        for (int i = 0; i < Math.min(inputs.size(), expected.size()); i++) {
            String in = inputs.get(i);
            int[] want = expected.get(i);
            int idx = i;
            tests.add(DynamicTest.dynamicTest(name + " #" + idx + " " + preview(in), () -> {
                Assumptions.assumeTrue(t != null, name + ": tokenizer did not load: " + err);
                int[] got = t.encode(in, false, false);
                assertArrayEquals(want, got, () -> name + " #" + idx + " " + preview(in) + "\n  expected " + Arrays.toString(want)
                        + "\n  actual   " + Arrays.toString(got));
            }));
        }
        return DynamicContainer.dynamicContainer(name, tests);
    }

    static String preview(String s) {
        String e = s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
        return "'" + (e.length() > 40 ? e.substring(0, 40) + "…" : e) + "'";
    }
}
