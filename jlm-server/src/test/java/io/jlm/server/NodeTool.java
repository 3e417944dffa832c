package io.jlm.server;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the Node.js client scripts of src/test/node: installs their locked dependencies once into
 * target/node-client ({@code npm ci}) and runs {@code node script args...}. Without Node/npm the calling test
 * is skipped, or fails under {@code CI=true}.
 */
final class NodeTool {
    private NodeTool() {}

    static final Path SOURCE = Path.of("src/test/node");
    static final Path WORK = Path.of("target/node-client");

    static synchronized Path prepare() throws IOException, InterruptedException {
        if (!available("node") || !available("npm")) {
            String why = "node/npm not installed";
            if ("true".equals(System.getenv("CI"))) throw new AssertionError(why + " (required under CI=true)");
            Assumptions.abort(why);
        }
        Files.createDirectories(WORK);
        for (String f : List.of("package.json", "package-lock.json", "openai-client.mjs", "web-page.mjs")) {
            Files.copy(SOURCE.resolve(f), WORK.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(WORK.resolve("node_modules/openai")) || !Files.isDirectory(WORK.resolve("node_modules/playwright-core"))) {
            Result r = run(WORK, 300, "npm", "ci", "--no-audit", "--no-fund");
            if (r.code != 0) throw new AssertionError("npm ci failed in " + WORK + ":\n" + r.output);
        }
        return WORK;
    }

    record Result(int code, String output) {}

    static Result node(int timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("node"));
        cmd.addAll(List.of(args));
        return run(prepare(), timeoutSeconds, cmd.toArray(String[]::new));
    }

    static Result run(Path dir, int timeoutSeconds, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[][] out = new byte[1][];
        Thread reader = Thread.ofVirtual().start(() -> {
            try { out[0] = p.getInputStream().readAllBytes(); } catch (IOException e) { out[0] = new byte[0]; }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish within " + timeoutSeconds + " s");
        }
        reader.join();
        return new Result(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
    }

    private static boolean available(String tool) {
        try {
            Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** The last line of the output (the scripts print one JSON object last). */
    static String lastLine(String output) {
        String[] lines = output.strip().split("\n");
        return lines[lines.length - 1];
    }
}
