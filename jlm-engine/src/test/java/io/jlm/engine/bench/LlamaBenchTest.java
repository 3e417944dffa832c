package io.jlm.engine.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class LlamaBenchTest {

    /** Written by hand in the shape of `llama-bench -p 512 -n 0 -t 1,2 -r 2 -o json` output (build 4748, CPU). */
    static final String SAMPLE = """
            [
              {
                "build_commit": "c392e5094",
                "build_number": 4748,
                "cpu_info": "AMD EPYC",
                "gpu_info": "",
                "backends": "CPU",
                "model_filename": "/work/models/synth-1b-q8_0.gguf",
                "model_type": "llama 1B Q8_0",
                "model_size": 905969664,
                "model_n_params": 852559872,
                "n_batch": 2048,
                "n_ubatch": 512,
                "n_threads": 1,
                "cpu_mask": "0x0",
                "cpu_strict": false,
                "poll": 50,
                "type_k": "f16",
                "type_v": "f16",
                "n_gpu_layers": 99,
                "split_mode": "layer",
                "main_gpu": 0,
                "no_kv_offload": false,
                "flash_attn": false,
                "tensor_split": "0.00",
                "use_mmap": true,
                "embeddings": false,
                "n_prompt": 512,
                "n_gen": 0,
                "test_time": "2025-01-01T12:00:00Z",
                "avg_ns": 8533333333,
                "stddev_ns": 120000000,
                "avg_ts": 60.0,
                "stddev_ts": 0.85,
                "samples_ns": [ 8448484848, 8618181818 ],
                "samples_ts": [ 60.6025, 59.4093 ]
              },
              {
                "build_commit": "c392e5094",
                "build_number": 4748,
                "cpu_info": "AMD EPYC",
                "gpu_info": "",
                "backends": "CPU",
                "model_filename": "/work/models/synth-1b-q8_0.gguf",
                "model_type": "llama 1B Q8_0",
                "model_size": 905969664,
                "model_n_params": 852559872,
                "n_batch": 2048,
                "n_ubatch": 512,
                "n_threads": 2,
                "cpu_mask": "0x0",
                "cpu_strict": false,
                "poll": 50,
                "type_k": "f16",
                "type_v": "f16",
                "n_gpu_layers": 99,
                "split_mode": "layer",
                "main_gpu": 0,
                "no_kv_offload": false,
                "flash_attn": false,
                "tensor_split": "0.00",
                "use_mmap": true,
                "embeddings": false,
                "n_prompt": 0,
                "n_gen": 128,
                "test_time": "2025-01-01T12:00:20Z",
                "avg_ns": 4266666666,
                "stddev_ns": 50000000,
                "avg_ts": 30.0,
                "stddev_ts": 0.35,
                "samples_ns": [ 4231404958, 4301942319 ],
                "samples_ts": [ 30.25, 29.754 ]
              }
            ]
            """;

    @Test
    void parsesTheFieldsJlmUses() {
        List<LlamaBench.Entry> es = LlamaBench.parse(SAMPLE, "sample");
        assertEquals(2, es.size());
        LlamaBench.Entry pp = es.get(0), tg = es.get(1);
        assertEquals(new LlamaBench.Entry(512, 0, 1, 60.0, 0.85, "llama 1B Q8_0"), pp);
        assertEquals("pp512", pp.name());
        assertEquals(new LlamaBench.Entry(0, 128, 2, 30.0, 0.35, "llama 1B Q8_0"), tg);
        assertEquals("tg128", tg.name());
        assertEquals("pp512+tg128", new LlamaBench.Entry(512, 128, 1, 1, 0, "").name());
    }

    @Test
    void rejectsBadOutputWithAClearMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaBench.parse("| model | size |", "out"));
        assertTrue(e.getMessage().startsWith("out: not valid JSON"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LlamaBench.parse("{\"a\":1}", "out"));
        assertTrue(e.getMessage().contains("expected a JSON array"), e.getMessage());
        String noAvg = SAMPLE.replace("\"avg_ts\": 30.0,", "");
        e = assertThrows(IllegalArgumentException.class, () -> LlamaBench.parse(noAvg, "out"));
        assertEquals("out: test #1: field \"avg_ts\" must be a number, got nothing", e.getMessage());
        String badThreads = SAMPLE.replace("\"n_threads\": 1,", "\"n_threads\": \"one\",");
        e = assertThrows(IllegalArgumentException.class, () -> LlamaBench.parse(badThreads, "out"));
        assertTrue(e.getMessage().contains("test #0: field \"n_threads\""), e.getMessage());
        assertEquals(List.of(), LlamaBench.parse("[]", "out"));
    }

    @Test
    void buildsOneCommandPerTestKind() {
        Path exe = Path.of("/opt/llama-bench"), m = Path.of("/m.gguf");
        assertEquals(List.of("/opt/llama-bench", "-m", "/m.gguf", "-p", "512", "-n", "0", "-t", "1,2", "-r", "3", "-o", "json"),
                LlamaBench.command(exe, m, true, new int[]{512}, new int[]{1, 2}, 3));
        assertEquals(List.of("/opt/llama-bench", "-m", "/m.gguf", "-p", "0", "-n", "128,256", "-t", "2", "-r", "1", "-o", "json"),
                LlamaBench.command(exe, m, false, new int[]{128, 256}, new int[]{2}, 1));
    }

    @Test
    @EnabledOnOs({OS.LINUX, OS.MAC})
    void runsAnExecutableAndReportsFailures(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("out.json");
        Files.writeString(json, SAMPLE);
        Path ok = script(dir, "ok.sh", "echo 'loading model' >&2\ncat '" + json + "'\n");
        List<LlamaBench.Entry> es = LlamaBench.run(List.of(ok.toString(), "-m", "x"));
        assertEquals(List.of(60.0, 30.0), es.stream().map(LlamaBench.Entry::avgTs).toList());

        Path bad = script(dir, "bad.sh", "echo 'error: failed to load model' >&2\nexit 3\n");
        IOException e = assertThrows(IOException.class, () -> LlamaBench.run(List.of(bad.toString())));
        assertTrue(e.getMessage().contains("exited with 3") && e.getMessage().contains("failed to load model"), e.getMessage());
    }

    private static Path script(Path dir, String name, String body) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body);
        assertTrue(p.toFile().setExecutable(true));
        return p;
    }

    @Test
    void pairsRoundsAndTakesMedians() {
        Comparison c = new Comparison();
        List<LlamaBench.Entry> llama = LlamaBench.parse(SAMPLE, "sample"); // pp512 t=1: 60, tg128 t=2: 30
        double[][] jlm = {{30, 15}, {45, 9}, {36, 12}, {24, 30}};
        for (double[] j : jlm) {
            Map<Comparison.Key, Double> m = new LinkedHashMap<>();
            m.put(new Comparison.Key("pp512", 1), j[0]);
            m.put(new Comparison.Key("tg128", 2), j[1]);
            List<Comparison.Sample> round = c.addRound(m, llama);
            assertEquals(j[0] / 60, round.get(0).ratio(), 1e-12);
            assertEquals(j[1] / 30, round.get(1).ratio(), 1e-12);
        }
        List<Comparison.Summary> s = c.summary();
        assertEquals(2, s.size());
        // pp ratios 0.5, 0.75, 0.6, 0.4 -> sorted 0.4 0.5 0.6 0.75 -> median 0.55
        assertEquals(new Comparison.Key("pp512", 1), s.get(0).key());
        assertEquals(4, s.get(0).rounds());
        assertEquals(0.55, s.get(0).medianRatio(), 1e-12);
        assertEquals(33.0, s.get(0).medianJlm(), 1e-12);
        assertEquals(60.0, s.get(0).medianLlama(), 1e-12);
        assertEquals(0.4, s.get(0).minRatio(), 1e-12);
        assertEquals(0.75, s.get(0).maxRatio(), 1e-12);
        // tg ratios 0.5, 0.3, 0.4, 1.0 -> median 0.45
        assertEquals(0.45, s.get(1).medianRatio(), 1e-12);
        assertEquals(3.0, Comparison.median(new double[]{5, 1, 3}));
    }

    @Test
    void aTestMissingOnTheLlamaSideIsAnError() {
        Map<Comparison.Key, Double> m = Map.of(new Comparison.Key("tg128", 1), 10.0);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new Comparison().addRound(m, LlamaBench.parse(SAMPLE, "sample")));
        assertTrue(e.getMessage().contains("tg128 with 1 thread"), e.getMessage());
    }
}
