package io.jlm.tokenizers;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared conformance data (see /work/shared/README.md) for tests of this module. */
final class SharedData {
    private SharedData() {}

    /** The shared folder: $JLM_SHARED if it exists, else a sibling "shared" of the working dir or a parent, else /work/shared. */
    static Path root() {
        String env = System.getenv("JLM_SHARED");
        if (env != null && Files.isDirectory(Path.of(env))) return Path.of(env);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path s = p.resolveSibling("shared");
            if (Files.isDirectory(s.resolve("conformance"))) return s;
            if (Files.isDirectory(p.resolve("shared").resolve("conformance"))) return p.resolve("shared");
        }
        return Path.of("/work/shared");
    }

    /** A file or folder under the shared root; fails under CI=true, otherwise skips the test, when it is missing. */
    static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String msg = "shared test data missing: " + p + " (set JLM_SHARED to the shared data folder)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) Assertions.fail(msg);
            System.out.println("SKIP: " + msg);
            Assumptions.abort(msg);
        }
        return p;
    }
}
