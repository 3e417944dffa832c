package io.jlm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jlm.core.SharedData;
import io.jlm.tokenizers.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import static org.junit.jupiter.api.Assertions.*;

/** Runs the CLI in-process against the shared conformance models and llama.cpp references. */
class CliTest {

    record Run(int rc, String out, String err) { }

    static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute(args);
        return new Run(rc, out.toString(), err.toString());
    }

    static JsonNode manifestCase(String model) throws IOException {
        JsonNode m = new ObjectMapper().readTree(SharedData.require("conformance/refs/manifest.json").toFile());
        for (JsonNode c : m.get("cases")) if (c.get("model").asText().equals(model)) return c;
        throw new AssertionError("no manifest case for " + model);
    }

    static Path model(String name) {
        return SharedData.require("conformance/models/" + name);
    }

    static int[] ints(JsonNode arr) {
        int[] r = new int[arr.size()];
        for (int i = 0; i < r.length; i++) r[i] = arr.get(i).asInt();
        return r;
    }

    static float[] readFloats(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    @Test
    void infoPrintsMetadataAndTensorTables() {
        Run r = run("info", "-m", model("stories260K-f32.gguf").toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("general\\.architecture\\s+STRING\\s+\"llama\"")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("llama\\.block_count\\s+UINT32\\s+5")), r.out());
        // token_embd: 64 x 512 f32 = 131072 bytes
        assertTrue(r.out().lines().anyMatch(l -> l.matches("token_embd\\.weight\\s+F32\\s+\\[64, 512]\\s+131072")), r.out());
        long tensorRows = r.out().lines().filter(l -> l.startsWith("blk.") || l.startsWith("token_embd") || l.startsWith("output")).count();
        assertEquals(48, tensorRows);
    }

    @Test
    void badFilesGiveOneLineAndExitCode1() throws IOException {
        Run missing = run("info", "-m", "/nonexistent/model.gguf");
        assertEquals(1, missing.rc());
        assertEquals(1, missing.err().lines().count(), missing.err());
        assertTrue(missing.err().startsWith("jlm: /nonexistent/model.gguf: "), missing.err());

        Path bad = Files.createTempFile("jlm-bad", ".gguf");
        try {
            Files.writeString(bad, "this is not a gguf file at all");
            for (String cmd : new String[]{"info", "tokenize", "logits", "generate"}) {
                List<String> args = new ArrayList<>(List.of(cmd, "-m", bad.toString()));
                if (cmd.equals("tokenize")) args.add("hi");
                if (cmd.equals("logits")) args.addAll(List.of("--tokens", "1", "-o", bad + ".out"));
                Run r = run(args.toArray(String[]::new));
                assertEquals(1, r.rc(), cmd);
                assertEquals(1, r.err().lines().count(), cmd + ": " + r.err());
                assertTrue(r.err().startsWith("jlm: " + bad + ": bad magic"), r.err());
                assertFalse(r.err().contains("Exception"), r.err());
            }
            Run debug = run("info", "--debug", "-m", bad.toString());
            assertEquals(1, debug.rc());
            assertTrue(debug.err().contains("GGUFFormatException"), debug.err());
        } finally {
            Files.deleteIfExists(bad);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K-f32.gguf", "llama-2-tiny-random.gguf", "synth-llama3-q8_0.gguf", "synth-qwen2-q8_0.gguf"})
    void tokenizeMatchesLlamaCpp(String name) throws IOException {
        JsonNode c = manifestCase(name);
        Run r = run("tokenize", "-m", model(name).toString(), c.get("prompt_text").asText());
        assertEquals(0, r.rc(), r.err());
        StringJoiner j = new StringJoiner(" ");
        for (int t : ints(c.get("prompt_tokens"))) j.add(Integer.toString(t));
        assertEquals(j + "\n", r.out());
    }

    @Test
    void tokenizeNoBos() throws IOException {
        JsonNode c = manifestCase("stories260K-f32.gguf");
        int[] ref = ints(c.get("prompt_tokens"));
        assertEquals(1, ref[0]);
        Run r = run("tokenize", "-m", model("stories260K-f32.gguf").toString(), "--no-bos", c.get("prompt_text").asText());
        StringJoiner j = new StringJoiner(" ");
        for (int i = 1; i < ref.length; i++) j.add(Integer.toString(ref[i]));
        assertEquals(j + "\n", r.out());
        Run special = run("tokenize", "-m", model("stories260K-f32.gguf").toString(), "--no-bos", "<s>");
        assertEquals("1\n", special.out()); // special tokens are parsed
    }

    @Test
    void logitsAllPositionsMatchReference(@TempDir Path dir) throws IOException {
        String name = "stories260K-f32.gguf";
        JsonNode c = manifestCase(name);
        int[] tokens = ints(c.get("prompt_tokens"));
        int vocab = c.get("n_vocab").asInt();
        float[] ref = readFloats(SharedData.require("conformance/refs/" + c.get("logits_file").asText()));
        assertEquals((long) tokens.length * vocab, ref.length);
        StringJoiner j = new StringJoiner(",");
        for (int t : tokens) j.add(Integer.toString(t));
        Path out = dir.resolve("all.f32");
        Run r = run("logits", "-m", model(name).toString(), "--tokens", j.toString(), "-o", out.toString(), "-t", "2");
        assertEquals(0, r.rc(), r.err());
        float[] got = readFloats(out);
        assertEquals(ref.length, got.length);
        float maxDiff = 0;
        for (int i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
        assertTrue(maxDiff <= 0.01f, "max abs logit difference " + maxDiff);

        Path last = dir.resolve("last.f32");
        r = run("logits", "-m", model(name).toString(), "--tokens", j.toString(), "--last", "-o", last.toString(), "-t", "2");
        assertEquals(0, r.rc(), r.err());
        float[] lastRow = readFloats(last);
        assertEquals(vocab, lastRow.length);
        for (int v = 0; v < vocab; v++) assertEquals(ref[(tokens.length - 1) * vocab + v], lastRow[v], 0.01f);
    }

    @Test
    void logitsRejectsTokensOutsideTheVocabulary(@TempDir Path dir) {
        Run r = run("logits", "-m", model("stories260K-f32.gguf").toString(), "--tokens", "1,512", "-o", dir.resolve("x").toString());
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("jlm: --tokens: id 512 outside the vocabulary [0, 512)"), r.err());
    }

    @Test
    void greedyGenerateReproducesLlamaCppContinuation() throws IOException {
        String name = "stories260K-f32.gguf";
        JsonNode c = manifestCase(name);
        int[] cont = ints(c.get("greedy_continuation"));
        Tokenizer tok = LoadedModel.tokenizer(model(name));
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (int t : cont) expected.writeBytes(tok.tokenBytes(t));
        Run r = run("generate", "-m", model(name).toString(), "-p", c.get("prompt_text").asText(), "-n", Integer.toString(cont.length),
                "--temp", "0", "--no-display-prompt", "-t", "2");
        assertEquals(0, r.rc(), r.err());
        assertEquals(expected.toString(StandardCharsets.UTF_8) + "\n", r.out());
        assertTrue(r.err().contains("prompt eval: " + c.get("prompt_tokens").size() + " tokens"), r.err());
        assertTrue(r.err().contains("generation:  " + cont.length + " tokens"), r.err());
    }

    @Test
    void generateStopsAtStopString() throws IOException {
        String name = "stories260K-f32.gguf";
        JsonNode c = manifestCase(name);
        Tokenizer tok = LoadedModel.tokenizer(model(name));
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int t : ints(c.get("greedy_continuation"))) b.writeBytes(tok.tokenBytes(t));
        String full = b.toString(StandardCharsets.UTF_8);
        // stop at the second word of the continuation
        String[] words = full.strip().split(" ");
        String stop = words[1];
        String expected = full.substring(0, full.indexOf(stop));
        Run r = run("generate", "-m", model(name).toString(), "-p", c.get("prompt_text").asText(), "-n", "32",
                "--temp", "0", "--no-display-prompt", "--stop", stop, "-t", "1");
        assertEquals(0, r.rc(), r.err());
        assertEquals(expected + "\n", r.out());
        assertTrue(r.err().contains("stopped: stop string"), r.err());
    }

    @Test
    void chatReadsStdinUntilExit() {
        ChatCommand.input = new ByteArrayInputStream("Once upon a time\n/exit\n".getBytes(StandardCharsets.UTF_8));
        try {
            Run r = run("chat", "-m", model("stories260K-f32.gguf").toString(), "-n", "8", "--temp", "0", "-t", "1");
            assertEquals(0, r.rc(), r.err());
            assertTrue(r.out().startsWith("> "), r.out());
            assertEquals(2, r.out().split("> ", -1).length - 1, r.out()); // two prompts: the question and /exit
        } finally {
            ChatCommand.input = System.in;
        }
    }

    @Test
    void serveRefusesAPublicAddressWithoutAKeyAndDocumentsItsOptions() {
        String usage = Main.commandLine().getSubcommands().get("serve").getUsageMessage();
        for (String opt : new String[]{"--api-key", "--parallel", "--kv-policy", "--queue", "--max-body"}) {
            assertTrue(usage.contains(opt), opt);
        }
        Run r = run("serve", "-m", model("stories260K-f32.gguf").toString(), "--host", "0.0.0.0", "--port", "0");
        assertEquals(1, r.rc());
        assertTrue(r.err().startsWith("jlm: refusing to listen on 0.0.0.0"), r.err());
        assertTrue(Main.commandLine().getSubcommands().get("serve-bench").getUsageMessage().contains("--streams"));
    }

    @Test
    void generateWithoutAModelUsesTheEmbeddedOne() {
        Run r = run("generate", "-p", "ROMEO:", "-n", "60", "--temp", "0");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().startsWith("ROMEO:"), r.out());
        String continuation = r.out().substring("ROMEO:".length());
        assertTrue(continuation.strip().length() > 20, r.out());
        // a character model trained on Shakespeare writes mostly letters and spaces
        long letters = continuation.chars().filter(c -> Character.isLetter(c) || c == ' ' || c == '\n').count();
        assertTrue(letters > continuation.length() * 0.8, continuation);
    }
}
