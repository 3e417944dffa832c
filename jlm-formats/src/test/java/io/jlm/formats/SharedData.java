package io.jlm.formats;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the read-only shared data folder (see /work/shared/README.md) for tests. */
public final class SharedData {
    private SharedData() {}

    /** The shared folder, or null if none is found. */
    public static Path root() {
        String env = System.getenv("JLM_SHARED");
        if (env != null && Files.isDirectory(Path.of(env))) return Path.of(env);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path s = p.resolveSibling("shared");
            if (Files.isDirectory(s)) return s;
        }
        Path fallback = Path.of("/work/shared");
        return Files.isDirectory(fallback) ? fallback : null;
    }

    /** A file under the shared folder; fails under CI=true when missing, otherwise skips the test. */
    public static Path require(String relative) {
        Path root = root();
        Path p = root == null ? null : root.resolve(relative);
        if (p == null || !Files.exists(p)) {
            String why = "shared test data missing: " + relative + " (set JLM_SHARED to the shared folder)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) Assertions.fail(why);
            Assumptions.abort(why);
        }
        return p;
    }
}
