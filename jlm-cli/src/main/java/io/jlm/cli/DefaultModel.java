package io.jlm.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model embedded in the jar: a small character-level llama trained by {@code jlm train} on tinyshakespeare
 * (recipe and log: docs/models/shakespeare-char-llama.md), used by {@code generate} and {@code chat} when no
 * {@code -m} is given, so they work on a fresh machine without any download. Models are memory-mapped files, so the
 * resource is copied once to the temporary directory (named by its size, replaced atomically).
 */
final class DefaultModel {
    private DefaultModel() {}

    static final String RESOURCE = "models/shakespeare-char-llama.gguf";

    /** The model to use: {@code given}, or the embedded one. */
    static Path orDefault(Path given) {
        return given != null ? given : path();
    }

    /**
     * The embedded model was trained on 64-character windows: unless the user chose a context or a KV policy, run it
     * with a StreamingLLM cache (4 sink positions + a 60-position window) over a 4096-position context so that it
     * keeps writing past its training length with bounded memory.
     */
    static void adapt(Path given, RunOptions run) {
        if (given == null && run.context == 0 && "full".equals(run.kvPolicy)) {
            run.context = 4096;
            run.kvPolicy = "sink:4,window:60";
        }
    }

    static synchronized Path path() {
        try (InputStream in = DefaultModel.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("the embedded default model " + RESOURCE + " is missing from the jar");
            byte[] bytes = in.readAllBytes();
            Path target = Path.of(System.getProperty("java.io.tmpdir"), "jlm-shakespeare-char-llama-" + bytes.length + ".gguf");
            if (!Files.exists(target) || Files.size(target) != bytes.length) {
                Path tmp = Files.createTempFile(target.getParent(), "jlm-default-", ".part");
                Files.write(tmp, bytes);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the embedded default model: " + e.getMessage(), e);
        }
    }
}
