package io.jlm.tokenizers;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the read-only shared conformance data ({@code JLM_SHARED}, a sibling "shared" dir, or /work/shared). */
final class SharedData {
    private SharedData() {}

    static Path root() {
        String env = System.getenv("JLM_SHARED");
        if (env != null && Files.isDirectory(Path.of(env))) return Path.of(env);
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path s = dir.resolve("shared");
            if (Files.isDirectory(s.resolve("conformance"))) return s;
            dir = dir.getParent();
        }
        return Path.of("/work/shared");
    }

    /** A file under the shared folder; skips the test (fails under CI=true) when it is missing. */
    static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String msg = "shared test data missing: " + p;
            if ("true".equalsIgnoreCase(System.getenv("CI"))) Assertions.fail(msg);
            System.out.println("SKIP: " + msg);
            Assumptions.abort(msg);
        }
        return p;
    }
}
