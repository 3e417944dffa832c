package io.jlm.cli;

import io.jlm.core.SharedData;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --kv-policy on generate and bench, and jlm eval splitk. */
class KvPolicyCliTest {

    static Path stories() { return SharedData.require("conformance/models/stories260K-f32.gguf"); }

    @Test
    void generateWithPoliciesReportsKvBytes() {
        String fullText = null;
        for (String policy : new String[]{"full", "f32", "window:64", "q8_0"}) {
            CliTest.Run r = CliTest.run("generate", "-m", stories().toString(), "-p", "Once upon a time", "-n", "16",
                    "--temp", "0", "-t", "1", "-c", "64", "--kv-policy", policy);
            assertEquals(0, r.rc(), r.err());
            assertTrue(r.err().contains("kv cache: "), r.err());
            if (fullText == null) fullText = r.out();
            else if (!policy.equals("q8_0")) assertEquals(fullText, r.out(), policy + ": a 64-position window or f32 keeps everything");
        }
        CliTest.Run q = CliTest.run("generate", "-m", stories().toString(), "-p", "Once", "-n", "4", "--temp", "0", "-t", "1",
                "-c", "64", "--kv-policy", "q8_0");
        // 64 positions x 5 layers x 4 KV heads x 8 floats, K and V, 34 bytes per 32 values
        assertTrue(q.err().contains("(" + (2L * 64 * 5 * 32 / 32 * 34) + " bytes)"), q.err());
    }

    @Test
    void badPolicyIsAClearError() {
        CliTest.Run r = CliTest.run("generate", "-m", stories().toString(), "-p", "x", "-n", "1", "--kv-policy", "lru:5");
        assertEquals(1, r.rc());
        assertTrue(r.err().contains("unknown KV policy 'lru:5'"), r.err());
    }

    @Test
    void benchAndSplitK() {
        CliTest.Run b = CliTest.run("bench", "-m", stories().toString(), "-p", "0", "-n", "8", "-r", "1", "-t", "1",
                "--kv-policy", "sink:4,window:16");
        assertEquals(0, b.rc(), b.err());
        CliTest.Run s = CliTest.run("eval", "splitk", "--ctx", "4096", "--head-dim", "64", "-t", "2", "-r", "3");
        assertEquals(0, s.rc(), s.err());
        assertTrue(s.out().contains("| f32 | 4096 | 1 | 64 | 2 | 8 |"), s.out()); // 4096 / 512 = 8 pieces
        assertTrue(s.out().contains("split-K 1 thread ms | thread scaling"), s.out());
    }
}
