package io.jlm.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bounded loopback load: 16 concurrent clients send 200 requests mixing greedy streaming and non-streaming
 * completions, clients that hang up mid-stream, and malformed bodies. Every valid request must return the same
 * text as a lone greedy run, every malformed one a 4xx JSON error, nothing a 5xx; afterwards no KV block is held
 * and the heap is back near its baseline.
 */
class LoadTest {
    static final String[] PROMPTS = {"Once upon a time", "The little dog", "Lily wanted to", "One day, Tom", "The sky was",
            "Mom said", "There was a big tree", "Sam liked"};
    static final String[] MALFORMED = {"{\"prompt\": ", "not json at all", "{\"prompt\":\"x\",\"max_tokens\":-3}",
            "{\"prompt\":\"x\",\"temperature\":\"hot\"}", "{\"messages\":\"hi\"}", "{\"prompt\":{\"a\":1}}", "{}",
            "{\"prompt\":\"x\",\"stop\":[1,2]}", "{\"prompt\":\"x\",\"n\":100}", "{\"prompt\":\"x\",\"top_p\":3}"};

    @Test
    void sixteenClientsTwoHundredMixedRequests() throws Exception {
        try (ServerFixture f = new ServerFixture(o -> o.withMaxBatch(8).withMaxQueue(64))) {
            String[] expected = new String[PROMPTS.length];
            for (int i = 0; i < PROMPTS.length; i++) expected[i] = f.referenceGreedy(PROMPTS[i], 32);
            // warm up, then take the memory baseline
            f.post("/v1/completions", ServerApiTest.completion(PROMPTS[0], 32, false));
            f.awaitIdle();
            long baseline = usedHeap();

            AtomicInteger valid = new AtomicInteger(), malformed = new AtomicInteger(), cancelled = new AtomicInteger();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            try (ExecutorService clients = Executors.newFixedThreadPool(16)) {
                List<Future<?>> all = new ArrayList<>();
                for (int r = 0; r < 200; r++) {
                    int id = r;
                    all.add(clients.submit(() -> {
                        try {
                            int kind = id % 10;
                            int p = id % PROMPTS.length;
                            if (kind < 5) { // streaming greedy
                                var res = f.post("/v1/completions", ServerApiTest.completion(PROMPTS[p], 32, true));
                                check(failures, id, res.statusCode() == 200, "stream status " + res.statusCode());
                                check(failures, id, expected[p].equals(ServerApiTest.sseText(res.body(), false)), "stream text");
                                valid.incrementAndGet();
                            } else if (kind < 7) { // non-streaming greedy
                                var res = f.post("/v1/completions", ServerApiTest.completion(PROMPTS[p], 32, false));
                                check(failures, id, res.statusCode() == 200, "status " + res.statusCode());
                                JsonNode j = ServerFixture.json(res.body());
                                check(failures, id, expected[p].equals(j.path("choices").get(0).path("text").asText()), "text");
                                valid.incrementAndGet();
                            } else if (kind == 7) { // client hangs up after the first bytes
                                var req = HttpRequest.newBuilder(URI.create(f.base + "/v1/completions"))
                                        .header("Content-Type", "application/json")
                                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + PROMPTS[p]
                                                + "\",\"max_tokens\":300,\"stream\":true}")).build();
                                HttpResponse<InputStream> res = f.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
                                check(failures, id, res.statusCode() == 200, "cancel status " + res.statusCode());
                                try (InputStream in = res.body()) { in.read(new byte[200]); }
                                cancelled.incrementAndGet();
                            } else { // malformed
                                String body = MALFORMED[id % MALFORMED.length];
                                var res = f.post(id % 2 == 0 ? "/v1/completions" : "/v1/chat/completions", body);
                                check(failures, id, res.statusCode() >= 400 && res.statusCode() < 500,
                                        "malformed " + body + " -> " + res.statusCode());
                                check(failures, id, ServerFixture.json(res.body()).path("error").path("message").isTextual(),
                                        "error JSON for " + body);
                                malformed.incrementAndGet();
                            }
                        } catch (Exception e) {
                            failures.add(id + ": " + e);
                        }
                        return null;
                    }));
                }
                for (Future<?> fu : all) fu.get();
            }
            assertEquals(List.of(), failures);
            assertEquals(140, valid.get());
            assertEquals(20, cancelled.get());
            assertEquals(40, malformed.get());
            f.awaitIdle();
            assertEquals(0, f.server.metrics().kvBlocksUsed(), "all KV blocks returned");
            assertEquals(0, f.server.metrics().runningSequences());
            long after = usedHeap();
            assertTrue(after < baseline + 64L * 1024 * 1024, "heap " + after / 1048576 + " MiB vs baseline " + baseline / 1048576 + " MiB");
            assertTrue(f.get("/metrics").body().contains("\njlm_request_errors_total 0\n"), "no server errors");
        }
    }

    private static void check(List<String> failures, int id, boolean ok, String what) {
        if (!ok) failures.add("request " + id + ": " + what);
    }

    private static long usedHeap() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) { System.gc(); Thread.sleep(50); }
        return rt.totalMemory() - rt.freeMemory();
    }
}
