package io.jlm.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.*;

class ServerApiTest {
    static ServerFixture f;

    @BeforeAll
    static void start() throws Exception { f = new ServerFixture(); }

    @AfterAll
    static void stop() { if (f != null) f.close(); }

    static String completion(String prompt, int maxTokens, boolean stream) {
        return "{\"model\":\"stories260K\",\"prompt\":" + ServerFixture.JSON.valueToTree(prompt) + ",\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"stream\":" + stream + "}";
    }

    /** Concatenates the text of an SSE stream of completion chunks; checks the stream ends with [DONE]. */
    static String sseText(String body, boolean chat) throws Exception {
        StringBuilder sb = new StringBuilder();
        boolean done = false;
        for (String block : body.split("\n\n")) {
            if (!block.startsWith("data: ")) continue;
            String data = block.substring(6);
            if (data.equals("[DONE]")) { done = true; continue; }
            assertFalse(done, "data after [DONE]");
            JsonNode j = ServerFixture.json(data);
            for (JsonNode c : j.path("choices")) {
                sb.append(chat ? c.path("delta").path("content").asText("") : c.path("text").asText(""));
            }
        }
        assertTrue(done, "stream must end with data: [DONE]");
        return sb.toString();
    }

    @Test
    void greedyCompletionEqualsTheEngineSession() throws Exception {
        String prompt = "Once upon a time, there was a little";
        String expected = f.referenceGreedy(prompt, 40);
        var r = f.post("/v1/completions", completion(prompt, 40, false));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = ServerFixture.json(r.body());
        assertEquals("text_completion", j.path("object").asText());
        assertEquals(expected, j.path("choices").get(0).path("text").asText());
        assertEquals("length", j.path("choices").get(0).path("finish_reason").asText());
        int promptTokens = f.tokenizer.encode(prompt, true, false).length;
        assertEquals(promptTokens, j.path("usage").path("prompt_tokens").asInt());
        assertEquals(40, j.path("usage").path("completion_tokens").asInt());
        assertEquals(promptTokens + 40, j.path("usage").path("total_tokens").asInt());

        var s = f.post("/v1/completions", completion(prompt, 40, true));
        assertEquals(200, s.statusCode());
        assertTrue(s.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        assertEquals(expected, sseText(s.body(), false));
    }

    @Test
    void chatCompletionStreamsTheSameTextAsNonStreaming() throws Exception {
        String body = "{\"messages\":[{\"role\":\"system\",\"content\":\"You tell stories.\"},{\"role\":\"user\",\"content\":\"Tell me about a cat.\"}],"
                + "\"max_tokens\":30,\"temperature\":0";
        var r = f.post("/v1/chat/completions", body + "}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = ServerFixture.json(r.body());
        assertEquals("chat.completion", j.path("object").asText());
        JsonNode msg = j.path("choices").get(0).path("message");
        assertEquals("assistant", msg.path("role").asText());
        var s = f.post("/v1/chat/completions", body + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(msg.path("content").asText(), sseText(s.body(), true));
        assertTrue(s.body().contains("\"role\":\"assistant\""));
        assertTrue(s.body().contains("\"completion_tokens\":" + j.path("usage").path("completion_tokens").asInt()), "usage chunk");
    }

    @Test
    void nChoicesSeedAndStopStrings() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":1.0,\"seed\":7,\"n\":3}";
        JsonNode a = ServerFixture.json(f.post("/v1/completions", body).body());
        JsonNode b = ServerFixture.json(f.post("/v1/completions", body).body());
        assertEquals(3, a.path("choices").size());
        assertEquals(a.path("choices"), b.path("choices"), "same seed, same choices");
        for (int i = 0; i < 3; i++) assertEquals(i, a.path("choices").get(i).path("index").asInt());

        String greedy = f.referenceGreedy("Once upon a time", 40);
        String cut = greedy.substring(greedy.length() / 2, greedy.length() / 2 + 3);
        JsonNode stopped = ServerFixture.json(f.post("/v1/completions",
                "{\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"temperature\":0,\"stop\":[" + ServerFixture.JSON.valueToTree(cut) + "]}").body());
        assertEquals(greedy.substring(0, greedy.indexOf(cut)), stopped.path("choices").get(0).path("text").asText());
        assertEquals("stop", stopped.path("choices").get(0).path("finish_reason").asText());
    }

    @Test
    void logprobsAreNormalisedAndRankTheGreedyTokenFirst() throws Exception {
        var r = f.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":8,"
                + "\"temperature\":0,\"logprobs\":true,\"top_logprobs\":5}");
        JsonNode content = ServerFixture.json(r.body()).path("choices").get(0).path("logprobs").path("content");
        assertTrue(content.size() > 0);
        for (JsonNode t : content) {
            JsonNode top = t.path("top_logprobs");
            assertEquals(5, top.size());
            double mass = 0, prev = 0;
            for (int i = 0; i < top.size(); i++) {
                double lp = top.get(i).path("logprob").asDouble();
                assertTrue(lp <= 0);
                if (i > 0) assertTrue(lp <= prev, "sorted");
                prev = lp;
                mass += Math.exp(lp);
            }
            assertTrue(mass <= 1.0001);
            assertEquals(top.get(0).path("token").asText(), t.path("token").asText(), "greedy picks the top token");
            assertEquals(top.get(0).path("logprob").asDouble(), t.path("logprob").asDouble(), 1e-6);
        }
        JsonNode legacy = ServerFixture.json(f.post("/v1/completions",
                "{\"prompt\":\"Hi\",\"max_tokens\":4,\"temperature\":0,\"logprobs\":2}").body()).path("choices").get(0).path("logprobs");
        assertEquals(4, legacy.path("tokens").size());
        assertEquals(4, legacy.path("token_logprobs").size());
        assertEquals(2, legacy.path("top_logprobs").get(0).size());
    }

    @Test
    void jsonModeProducesAValidJsonObject() throws Exception {
        var r = f.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Give me JSON\"}],"
                + "\"max_tokens\":200,\"temperature\":0.8,\"seed\":3,\"response_format\":{\"type\":\"json_object\"}}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode c = ServerFixture.json(r.body()).path("choices").get(0);
        String text = c.path("message").path("content").asText();
        assertTrue(text.startsWith("{"), text);
        JsonGrammar g = new JsonGrammar();
        assertTrue(g.feed(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)), "output is a JSON prefix: " + text);
        if (c.path("finish_reason").asText().equals("stop")) {
            assertTrue(ServerFixture.json(text).isObject(), text);
        }
    }

    @Test
    void errorsUseTheOpenAiShapeAndCodes() throws Exception {
        record Case(String path, String body, int status, String param) {}
        List<Case> cases = List.of(
                new Case("/v1/completions", "{not json", 400, null),
                new Case("/v1/completions", "[1,2]", 400, null),
                new Case("/v1/completions", "{\"max_tokens\":5}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\":\"a\",\"temperature\":5}", 400, "temperature"),
                new Case("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":\"many\"}", 400, "max_tokens"),
                new Case("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":100000}", 400, "max_tokens"),
                new Case("/v1/completions", "{\"prompt\":\"a\",\"n\":0}", 400, "n"),
                new Case("/v1/completions", "{\"prompt\":[1,2,99999]}", 400, "prompt"),
                new Case("/v1/chat/completions", "{\"messages\":[]}", 400, "messages"),
                new Case("/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", 400, "messages[0].role"),
                new Case("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"xml\"}}", 400, "response_format.type"),
                new Case("/v1/nothing", "{}", 404, null));
        for (Case c : cases) {
            var r = f.post(c.path(), c.body());
            assertEquals(c.status(), r.statusCode(), c + " -> " + r.body());
            JsonNode err = ServerFixture.json(r.body()).path("error");
            assertTrue(err.path("message").isTextual() && !err.path("message").asText().isEmpty(), r.body());
            assertTrue(err.path("type").isTextual(), r.body());
            if (c.param() != null) assertEquals(c.param(), err.path("param").asText(), r.body());
        }
        var big = f.post("/v1/completions", "{\"prompt\":\"" + "a".repeat(2 << 20) + "\"}");
        assertEquals(413, big.statusCode());
        assertTrue(ServerFixture.json(big.body()).path("error").isObject(), big.body());
        var ctx = f.post("/v1/completions", "{\"prompt\":\"" + "Once upon a time. ".repeat(200) + "\"}");
        assertEquals(400, ctx.statusCode());
        assertEquals("context_length_exceeded", ServerFixture.json(ctx.body()).path("error").path("code").asText());
    }

    @Test
    void modelsHealthMetricsAndPage() throws Exception {
        JsonNode m = ServerFixture.json(f.get("/v1/models").body());
        assertEquals("list", m.path("object").asText());
        assertEquals("stories260K", m.path("data").get(0).path("id").asText());
        assertEquals("ok", ServerFixture.json(f.get("/health").body()).path("status").asText());
        String metrics = f.get("/metrics").body();
        for (String name : List.of("jlm_queue_depth", "jlm_kv_blocks_used", "jlm_decode_tokens_per_second",
                "jlm_time_to_first_token_seconds_count", "jlm_generated_tokens_total")) {
            assertTrue(metrics.contains("\n" + name + " ") || metrics.startsWith("# HELP " + name), name);
        }
        String page = f.get("/").body();
        assertTrue(page.contains("/v1/chat/completions") && page.contains("<textarea id=\"system\""));
    }

    @Test
    void prefixCachingReusesBlocksAndKeepsOutputs() throws Exception {
        String shared = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. ".repeat(5);
        String p1 = shared + "One day she saw a dog.";
        String p2 = shared + "One day she saw a bird.";
        String e2 = f.referenceGreedy(p2, 20);
        f.post("/v1/completions", completion(p1, 20, false));
        long before = f.server.metrics().prefixReusedTokens();
        JsonNode r2 = ServerFixture.json(f.post("/v1/completions", completion(p2, 20, false)).body());
        long reused = f.server.metrics().prefixReusedTokens() - before;
        int sharedTokens = f.tokenizer.encode(shared, true, false).length;
        assertTrue(reused >= sharedTokens - 16 && reused <= sharedTokens, "reused " + reused + " of " + sharedTokens + " shared tokens");
        assertEquals(e2, r2.path("choices").get(0).path("text").asText());
    }

    @Test
    void concurrentRequestsAreBatchedAndGiveTheSameGreedyOutput() throws Exception {
        String[] prompts = {"Once upon a time", "The cat sat", "Lily and Tom went", "One day, a big", "The sun was", "Ben had a red"};
        String[] expected = new String[prompts.length];
        for (int i = 0; i < prompts.length; i++) expected[i] = f.referenceGreedy(prompts[i], 48);
        long steps0 = f.server.metrics().steps.sum(), rows0 = f.server.metrics().stepRows.sum();
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        for (String p : prompts) {
            futures.add(f.http.sendAsync(HttpRequest.newBuilder(URI.create(f.base + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(completion(p, 48, true)))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < prompts.length; i++) assertEquals(expected[i], sseText(futures.get(i).get().body(), false), prompts[i]);
        long steps = f.server.metrics().steps.sum() - steps0, rows = f.server.metrics().stepRows.sum() - rows0;
        assertTrue(rows > steps * 1.5, "rows per step " + (double) rows / steps + ": requests should share steps");
    }

    @Test
    void disconnectingClientFreesItsBlocks() throws Exception {
        f.awaitIdle();
        var req = HttpRequest.newBuilder(URI.create(f.base + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":400,\"stream\":true,\"temperature\":1}")).build();
        long cancelled0 = f.server.metrics().cancelled.sum();
        HttpResponse<InputStream> r = f.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        InputStream in = r.body();
        in.read(new byte[64]);
        assertTrue(f.server.metrics().kvBlocksUsed() > 0 || f.server.metrics().cancelled.sum() > cancelled0);
        in.close();
        f.awaitIdle();
        assertEquals(0, f.server.metrics().kvBlocksUsed());
    }

    @Test
    void fullQueueAnswers429() throws Exception {
        try (ServerFixture small = new ServerFixture(o -> o.withMaxBatch(1).withMaxQueue(1))) {
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                fs.add(small.http.sendAsync(HttpRequest.newBuilder(URI.create(small.base + "/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":450,\"temperature\":1}")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            int ok = 0, limited = 0;
            for (var fu : fs) {
                var r = fu.get();
                if (r.statusCode() == 200) ok++;
                else {
                    assertEquals(429, r.statusCode(), r.body());
                    assertEquals("queue_full", ServerFixture.json(r.body()).path("error").path("code").asText());
                    limited++;
                }
            }
            assertTrue(ok >= 2 && limited >= 1, ok + " ok, " + limited + " limited");
        }
    }

    @Test
    void apiKeyIsCheckedAndNonLoopbackNeedsOne() throws Exception {
        try (ServerFixture keyed = new ServerFixture(o -> o.withApiKey("s3cret"))) {
            String body = completion("Hi", 2, false);
            assertEquals(401, keyed.post("/v1/completions", body).statusCode());
            assertEquals(401, keyed.post("/v1/completions", body, "Authorization", "Bearer wrong").statusCode());
            assertEquals(401, keyed.get("/v1/models").statusCode());
            assertEquals(200, keyed.post("/v1/completions", body, "Authorization", "Bearer s3cret").statusCode());
            assertEquals(200, keyed.get("/health").statusCode());
        }
        var ex = assertThrows(IllegalArgumentException.class, () ->
                JlmServer.checkBindAllowed(ServerOptions.defaults("m", 64).withHost("0.0.0.0")));
        assertTrue(ex.getMessage().contains("API key"), ex.getMessage());
        JlmServer.checkBindAllowed(ServerOptions.defaults("m", 64).withHost("0.0.0.0").withApiKey("k"));
        JlmServer.checkBindAllowed(ServerOptions.defaults("m", 64).withHost("localhost"));
    }

    @Test
    void embeddingsAreNormalisedHiddenStatesThatMatchTheLmHead() throws Exception {
        var r = f.post("/v1/embeddings", "{\"input\":[\"Once upon a time\",\"The cat sat on the mat\"],\"model\":\"x\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = ServerFixture.json(r.body());
        assertEquals(2, j.path("data").size());
        int dim = f.model.config().dim();
        float[][] e = new float[2][dim];
        for (int k = 0; k < 2; k++) {
            JsonNode v = j.path("data").get(k).path("embedding");
            assertEquals(dim, v.size());
            double norm = 0;
            for (int i = 0; i < dim; i++) { e[k][i] = (float) v.get(i).asDouble(); norm += e[k][i] * e[k][i]; }
            assertEquals(1.0, norm, 1e-4);
        }
        assertNotEquals(e[0][0], e[1][0]);
        // last-token pooling: the LM head applied to the (unnormalised) hidden state gives the model's next-token logits,
        // so the normalised embedding must be parallel to the direction that reproduces the logits' argmax
        int[] tokens = f.tokenizer.encode("Once upon a time", true, false);
        JsonNode last = ServerFixture.json(f.post("/v1/embeddings", "{\"input\":\"Once upon a time\",\"pooling\":\"last\"}").body());
        float[] h = new float[dim];
        for (int i = 0; i < dim; i++) h[i] = (float) last.path("data").get(0).path("embedding").get(i).asDouble();
        var tm = (io.jlm.models.transformer.TransformerModel) f.model;
        float[] viaHead = new float[f.model.config().vocabSize()];
        tm.weights().output().matvec(h, viaHead, f.pool);
        float[] logits = f.model.forward(f.model.newState(64), tokens, false).clone();
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < logits.length; i++) { dot += viaHead[i] * logits[i]; na += viaHead[i] * viaHead[i]; nb += logits[i] * logits[i]; }
        assertEquals(1.0, dot / Math.sqrt(na * nb), 1e-4, "LM head of the embedding is proportional to the logits");
        assertEquals(400, f.post("/v1/embeddings", "{\"input\":5}").statusCode());
        assertEquals(400, f.post("/v1/embeddings", "{\"input\":\"a\",\"pooling\":\"max\"}").statusCode());
    }

    @Test
    void perRequestKvPolicyMatchesTheEngineWithThatPolicy() throws Exception {
        for (String spec : new String[]{"q8_0", "sink:4,window:64"}) {
            var policy = io.jlm.models.state.KvPolicy.parse(spec);
            int[] tokens = f.tokenizer.encode("Once upon a time", true, false);
            var session = new io.jlm.engine.Session(f.model, f.tokenizer, f.model.newState(512, policy));
            String expected = session.generate(tokens, io.jlm.engine.GenerationOptions.maxTokens(200),
                    new io.jlm.engine.Sampler(io.jlm.engine.SamplerConfig.greedy(), f.model.config().vocabSize()), null).text();
            var r = f.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":200,\"temperature\":0,\"kv_policy\":\"" + spec + "\"}");
            assertEquals(200, r.statusCode(), r.body());
            JsonNode c = ServerFixture.json(r.body()).path("choices").get(0);
            assertEquals(expected, c.path("text").asText(), spec);
        }
        var bad = f.post("/v1/completions", "{\"prompt\":\"a\",\"kv_policy\":\"lru:7\"}");
        assertEquals(400, bad.statusCode(), bad.body());
        assertEquals("kv_policy", ServerFixture.json(bad.body()).path("error").path("param").asText());
    }

    @Test
    void jsonSchemaModeFollowsTheSchema() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"},"
                + "\"pet\":{\"enum\":[\"cat\",\"dog\"]},\"ok\":{\"type\":\"boolean\"}}}";
        for (int seed = 1; seed <= 3; seed++) {
            var r = f.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Describe Lily\"}],"
                    + "\"max_tokens\":400,\"temperature\":0.7,\"seed\":" + seed + ",\"response_format\":{\"type\":\"json_schema\","
                    + "\"json_schema\":{\"name\":\"person\",\"schema\":" + schema + "}}}");
            assertEquals(200, r.statusCode(), r.body());
            JsonNode c = ServerFixture.json(r.body()).path("choices").get(0);
            String text = c.path("message").path("content").asText();
            SchemaGrammar g = SchemaGrammar.compile(ServerFixture.json(schema));
            assertTrue(g.feed(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)), text);
            if (c.path("finish_reason").asText().equals("stop")) {
                JsonNode doc = ServerFixture.json(text);
                assertTrue(doc.path("age").isIntegralNumber(), text);
                assertTrue(doc.path("pet").asText().matches("cat|dog"), text);
                assertTrue(doc.path("ok").isBoolean(), text);
            }
        }
        var bad = f.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/x\"}}}}}}");
        assertEquals(400, bad.statusCode(), bad.body());
        assertTrue(ServerFixture.json(bad.body()).path("error").path("message").asText().contains("$ref"));
    }
}
