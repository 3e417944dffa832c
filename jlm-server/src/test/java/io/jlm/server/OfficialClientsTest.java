package io.jlm.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The server driven by clients nobody here wrote: the official {@code openai} npm package, LangChain4j's
 * OpenAI client, and the chat page in headless Chromium (playwright-core). Requests go through an API key.
 */
class OfficialClientsTest {
    static final String KEY = "test-key-123";
    static ServerFixture f;
    static String chatReference, completionReference;

    @BeforeAll
    static void start() throws Exception {
        f = new ServerFixture(o -> o.withApiKey(KEY));
        // references through the plain HTTP API (checked against the engine in ServerApiTest)
        String chatBody = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}],\"max_tokens\":24,\"temperature\":0}";
        var chatResp = f.post("/v1/chat/completions", chatBody, "Authorization", "Bearer " + KEY);
        assertEquals(200, chatResp.statusCode(), chatResp.body());
        chatReference = ServerFixture.json(chatResp.body())
                .path("choices").get(0).path("message").path("content").asText();
        completionReference = f.referenceGreedy("Once upon a time", 24);
    }

    @AfterAll
    static void stop() { if (f != null) f.close(); }

    @Test
    void openaiNpmPackage() throws Exception {
        NodeTool.Result r = NodeTool.node(120, "openai-client.mjs", f.base, KEY);
        assertEquals(0, r.code(), r.output());
        JsonNode out = ServerFixture.json(NodeTool.lastLine(r.output()));
        assertEquals("stories260K", out.path("models").get(0).asText());
        assertEquals(chatReference, out.path("chat").asText());
        assertEquals("length", out.path("chatFinish").asText());
        assertEquals(24, out.path("chatUsage").path("completion_tokens").asInt());
        assertEquals(chatReference, out.path("chatStream").asText());
        assertTrue(out.path("chatChunks").asInt() >= 24, "streamed in chunks");
        assertEquals(completionReference, out.path("completion").asText());
        assertEquals(completionReference, out.path("completionStream").asText());
        assertEquals(400, out.path("badRequest").path("status").asInt(), out.toString());
    }

    @Test
    void langChain4jClient() throws Exception {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(f.base + "/v1").apiKey(KEY).modelName("stories260K")
                .temperature(0.0).maxTokens(24).build();
        assertEquals(chatReference, chat.chat("Tell me a story."));

        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(f.base + "/v1").apiKey(KEY)
                .modelName("stories260K").temperature(0.0).maxTokens(24).build();
        StringBuilder partial = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat("Tell me a story.", new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String s) { partial.append(s); }
            @Override public void onCompleteResponse(ChatResponse r) { done.complete(r); }
            @Override public void onError(Throwable t) { done.completeExceptionally(t); }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        assertEquals(chatReference, partial.toString());
        assertEquals(chatReference, r.aiMessage().text());
    }

    @Test
    void chatPageInHeadlessChromium() throws Exception {
        String chromium = System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium");
        if (!Files.isExecutable(Path.of(chromium))) {
            String why = chromium + " not installed (apt-get install chromium)";
            if ("true".equals(System.getenv("CI"))) throw new AssertionError(why + " (required under CI=true)");
            org.junit.jupiter.api.Assumptions.abort(why);
        }
        Path shot = Path.of("target/chat-page.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        // the page calls the API without a key field filled in: use a keyless server for it
        try (ServerFixture open = new ServerFixture()) {
            NodeTool.Result r = NodeTool.node(120, "web-page.mjs", open.base, shot.toString());
            assertEquals(0, r.code(), r.output());
            JsonNode out = ServerFixture.json(NodeTool.lastLine(r.output()));
            assertFalse(out.path("answer").asText().isBlank(), out.toString());
            assertFalse(out.path("answer").asText().startsWith("error"), out.toString());
            assertTrue(out.path("stats").asText().contains("tokens/s"), out.toString());
            assertTrue(Files.size(shot) > 1000, "screenshot saved");
        }
    }
}
