package io.jlm.models;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared test data folder (conformance models and llama.cpp references). */
public final class SharedData {
    private SharedData() {}

    /** JLM_SHARED if it exists, else a sibling "shared" folder of the working dir or an ancestor, else /work/shared. */
    public static Path root() {
        String env = System.getenv("JLM_SHARED");
        if (env != null && Files.isDirectory(Path.of(env))) return Path.of(env);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path s = p.resolveSibling("shared");
            if (Files.isDirectory(s.resolve("conformance"))) return s;
        }
        return Path.of("/work/shared");
    }

    /** The path of a shared file; fails under CI=true and skips otherwise if it is missing. */
    public static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String msg = "shared test data missing: " + p + " (set JLM_SHARED to the shared data folder)";
            if ("true".equals(System.getenv("CI"))) throw new AssertionError(msg);
            System.out.println("SKIP: " + msg);
            Assumptions.abort(msg);
        }
        return p;
    }
}
