package io.jlm.tokenizers;

import io.jlm.core.SharedData;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokenizer test data from the shared folder (located by {@link SharedData}): reads llama.cpp's tokenizer test
 * vectors, and loads each GGUF tokenizer once per test run.
 */
final class VocabTestData {
    private VocabTestData() {}

    // ---- tokenizers, loaded once per JVM (the vocabulary files are large) ----

    private static final Map<Path, GGUFMetadata> METADATA = new ConcurrentHashMap<>();
    private static final Map<Path, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    /** The metadata of a GGUF file, read once and shared by all tests. */
    static GGUFMetadata metadata(Path gguf) {
        return METADATA.computeIfAbsent(gguf, p -> {
            try (GGUFFile f = GGUFFile.open(p)) {
                return f.metadata();
            } catch (IOException e) {
                throw new UncheckedIOException(p + ": " + e, e);
            }
        });
    }

    /** The tokenizer of a GGUF file ({@link Tokenizers#fromGGUF(GGUFMetadata)}), built once and shared by all tests. */
    static Tokenizer tokenizer(Path gguf) {
        return TOKENIZERS.computeIfAbsent(gguf, p -> Tokenizers.fromGGUF(metadata(p)));
    }

    /** The tokenizer of a GGUF file under the shared folder (skips when missing). */
    static Tokenizer tokenizer(String relative) {
        return tokenizer(SharedData.require(relative));
    }

    // ---- llama.cpp's tokenizer test vectors: ggml-vocab-X.gguf.inp / .out ----

    static final String DELIMITER = "\n__ggml_vocab_test__\n";

    /** Test strings and their expected ids (no BOS, no special-token parsing). */
    record Vectors(List<String> inputs, List<int[]> expected) {}

    /** The vectors of {@code conformance/tokenizers/ggml-vocab-<family>.gguf}. */
    static Vectors vectors(String family) throws IOException {
        return vectors(SharedData.require("conformance/tokenizers/ggml-vocab-" + family + ".gguf"));
    }

    /** The vectors next to a GGUF vocabulary ({@code <gguf>.inp}, {@code <gguf>.out}). */
    static Vectors vectors(Path gguf) throws IOException {
        return new Vectors(readInputs(Path.of(gguf + ".inp")), readOutputs(Path.of(gguf + ".out")));
    }

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
}
