package io.jlm.core;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the read-only shared test data folder (conformance models, llama.cpp references, tokenizer vectors; see
 * /work/shared/README.md). Shared with the other modules' tests through jlm-core's test-jar.
 */
public final class SharedData {
    private SharedData() {}

    /**
     * {@code JLM_SHARED} if that folder exists, else the first "shared" folder (holding "conformance") that is a
     * sibling of the working dir or one of its ancestors, else /work/shared (which may be missing).
     */
    public static Path root() {
        String env = System.getenv("JLM_SHARED");
        if (env != null && Files.isDirectory(Path.of(env))) return Path.of(env);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path s = p.resolveSibling("shared");
            if (Files.isDirectory(s.resolve("conformance"))) return s;
        }
        return Path.of("/work/shared");
    }

    /** A file under the shared folder; when it is missing, fails under CI=true and skips the test otherwise. */
    public static Path require(String relative) {
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
