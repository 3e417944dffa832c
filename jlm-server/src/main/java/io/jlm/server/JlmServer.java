package io.jlm.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.jlm.engine.ChatMessage;
import io.jlm.engine.ChatTemplate;
import io.jlm.models.LanguageModel;
import io.jlm.models.state.KvPolicy;
import io.jlm.server.SequenceListener.FinishReason;
import io.jlm.server.SequenceListener.TokenLogprob;
import io.jlm.tokenizers.Tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The OpenAI-compatible HTTP server ({@code jlm serve}): {@code /v1/chat/completions}, {@code /v1/completions},
 * {@code /v1/models}, {@code /health}, {@code /metrics} and the chat page at {@code /}. Generation runs on one
 * {@link Scheduler} (continuous batching); request threads only parse, tokenize and stream.
 */
public final class JlmServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    static { // Jetty/Javalin log through slf4j-simple: warnings and errors only, unless the user configured it
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
    }

    private final LanguageModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final ServerOptions options;
    private final Metrics metrics = new Metrics();
    private final Scheduler scheduler;
    private final byte[] apiKeyHash;
    private final long created = System.currentTimeMillis() / 1000;
    private Javalin app;

    public JlmServer(LanguageModel model, Tokenizer tokenizer, ChatTemplate template, ServerOptions options) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.options = options;
        checkBindAllowed(options);
        this.apiKeyHash = options.apiKey() == null ? null : sha256(options.apiKey());
        this.scheduler = new Scheduler(model, tokenizer, options, metrics);
    }

    /** Refuses a non-loopback address without an API key. */
    static void checkBindAllowed(ServerOptions o) {
        boolean loopback;
        try {
            InetAddress[] all = InetAddress.getAllByName(o.host());
            loopback = all.length > 0;
            for (InetAddress a : all) loopback &= a.isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("host '" + o.host() + "': cannot resolve it (" + e.getMessage() + ")");
        }
        if (!loopback && o.apiKey() == null) {
            throw new IllegalArgumentException("refusing to listen on " + o.host() + " (not a loopback address) without an"
                    + " API key: pass --api-key KEY or set JLM_API_KEY, or bind 127.0.0.1");
        }
    }

    public Metrics metrics() { return metrics; }

    public Scheduler scheduler() { return scheduler; }

    /** The bound port (after {@link #start}). */
    public int port() { return app.port(); }

    public JlmServer start() {
        app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.useVirtualThreads = true;
            cfg.http.maxRequestSize = options.maxBodyBytes();
        });
        app.before(this::authorize);
        app.get("/", ctx -> ctx.contentType("text/html; charset=utf-8").result(resource("web/index.html")));
        app.get("/health", ctx -> json(ctx, 200, JSON.createObjectNode().put("status", "ok")));
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4").result(metrics.render()));
        app.get("/v1/models", ctx -> {
            ObjectNode m = JSON.createObjectNode().put("id", options.modelName()).put("object", "model")
                    .put("created", created).put("owned_by", "jlm");
            ObjectNode list = JSON.createObjectNode().put("object", "list");
            list.putArray("data").add(m);
            json(ctx, 200, list);
        });
        app.get("/v1/models/{id}", ctx -> {
            if (!ctx.pathParam("id").equals(options.modelName())) {
                throw new ApiError(404, "invalid_request_error", "model", "model_not_found",
                        "model '" + ctx.pathParam("id") + "' does not exist");
            }
            json(ctx, 200, JSON.createObjectNode().put("id", options.modelName()).put("object", "model")
                    .put("created", created).put("owned_by", "jlm"));
        });
        app.post("/v1/chat/completions", ctx -> guarded(ctx, true));
        app.post("/v1/completions", ctx -> guarded(ctx, false));
        app.post("/v1/embeddings", this::embeddings);
        app.exception(ApiError.class, (e, ctx) -> error(ctx, e));
        app.exception(HttpResponseException.class, (e, ctx) ->
                error(ctx, new ApiError(e.getStatus(), e.getStatus() == 413 ? "invalid_request_error" : "api_error",
                        null, null, e.getMessage())));
        app.exception(Exception.class, (e, ctx) -> {
            metrics.requestErrors.increment();
            error(ctx, new ApiError(500, "server_error", null, null, "internal error: " + e));
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || !ctx.result().contains("\"error\"")) {
                error(ctx, new ApiError(404, "invalid_request_error", null, "not_found",
                        "no route for " + ctx.method() + " " + ctx.path()));
            }
        });
        app.error(405, ctx -> error(ctx, new ApiError(405, "invalid_request_error", null, null,
                "method " + ctx.method() + " not allowed on " + ctx.path())));
        app.start(options.host(), options.port());
        return this;
    }

    // ------------------------------------------------------------------ request handling

    private void authorize(Context ctx) {
        if (apiKeyHash == null) return;
        String path = ctx.path();
        if (path.equals("/") || path.equals("/health")) return; // the page asks for the key itself
        String auth = ctx.header("Authorization");
        String given = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).strip() : null;
        if (given == null || !MessageDigest.isEqual(sha256(given), apiKeyHash)) {
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key",
                    "missing or wrong API key (send 'Authorization: Bearer KEY')");
        }
    }

    /** Runs a completion; JVM errors (not only exceptions) become a JSON 500 instead of an empty response. */
    private void guarded(Context ctx, boolean chat) throws IOException {
        try {
            complete(ctx, chat);
        } catch (ApiError | HttpResponseException e) {
            throw e;
        } catch (RuntimeException | Error e) {
            metrics.requestErrors.increment();
            throw new ApiError(500, "server_error", null, null, "internal error: " + e);
        }
    }

    private void complete(Context ctx, boolean chat) throws IOException {
        JsonNode body = parseBody(ctx);
        RequestParser.Common common = RequestParser.common(body, options.contextSize(), options.maxTokensLimit());
        int[] prompt = chat ? chatPrompt(body) : textPrompt(body);
        if (prompt.length >= options.contextSize()) {
            throw new ApiError(400, "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded",
                    "the prompt has " + prompt.length + " tokens; this server's context is " + options.contextSize());
        }
        int room = options.contextSize() - prompt.length;
        int maxTokens = common.maxTokens() == null ? (chat ? Math.min(room, options.maxTokensLimit()) : Math.min(16, room))
                : common.maxTokens();
        if (maxTokens > room) {
            throw new ApiError(400, "invalid_request_error", "max_tokens", "context_length_exceeded",
                    "prompt (" + prompt.length + " tokens) + max_tokens (" + maxTokens + ") exceeds the context size "
                            + options.contextSize());
        }
        int topLogprobs = -1;
        if (chat) {
            if (RequestParser.bool(body, "logprobs", false)) {
                topLogprobs = (int) RequestParser.integer(body, "top_logprobs", 0, 0, 20);
            } else if (body.hasNonNull("top_logprobs")) {
                throw ApiError.invalid("top_logprobs", "top_logprobs requires logprobs: true");
            }
        } else if (body.hasNonNull("logprobs")) {
            topLogprobs = (int) RequestParser.integer(body, "logprobs", 0, 0, 5);
        }
        KvPolicy kvPolicy = kvPolicy(body);
        String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        int n = common.n();
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        List<Scheduler.Handle> handles = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                GenerationRequest req = new GenerationRequest(prompt, common.sampling().withSeed(common.sampling().seed() + i),
                        maxTokens, common.stop(), topLogprobs, common.grammar(), kvPolicy);
                handles.add(scheduler.submit(req, new QueueListener(i, events)));
            }
        } catch (Scheduler.QueueFullException e) {
            handles.forEach(Scheduler.Handle::cancel);
            throw new ApiError(429, "rate_limit_exceeded", null, "queue_full", e.getMessage());
        } catch (IllegalArgumentException e) {
            handles.forEach(Scheduler.Handle::cancel);
            throw ApiError.invalid(null, e.getMessage());
        }
        Response r = new Response(id, chat, n, prompt.length);
        if (common.stream()) stream(ctx, r, events, handles, common.includeUsage());
        else {
            try {
                collect(r, events, handles);
            } catch (InterruptedException e) {
                handles.forEach(Scheduler.Handle::cancel);
                Thread.currentThread().interrupt();
                return;
            }
            json(ctx, 200, r.full());
        }
    }

    /** {@code /v1/embeddings}: L2-normalised final-norm hidden states, mean-pooled (default) or last-token. */
    private void embeddings(Context ctx) throws Exception {
        JsonNode body = parseBody(ctx);
        JsonNode input = body.get("input");
        List<int[]> inputs = new ArrayList<>();
        if (input != null && input.isTextual()) inputs.add(tokenizer.encode(input.asText(), true, false));
        else if (input != null && input.isArray() && !input.isEmpty() && input.size() <= 64) {
            if (input.get(0).isIntegralNumber()) inputs.add(tokenIds(input, "input"));
            else for (int i = 0; i < input.size(); i++) {
                JsonNode e = input.get(i);
                if (e.isTextual()) inputs.add(tokenizer.encode(e.asText(), true, false));
                else if (e.isArray() && !e.isEmpty()) inputs.add(tokenIds(e, "input[" + i + "]"));
                else throw ApiError.invalid("input", "input[" + i + "]: expected a string or an array of token ids");
            }
        } else {
            throw ApiError.invalid("input", "input: expected a string, an array of 1..64 strings, or token id arrays");
        }
        String pooling = body.path("pooling").asText("mean");
        if (!pooling.equals("mean") && !pooling.equals("last")) {
            throw ApiError.invalid("pooling", "pooling: '" + pooling + "' (expected mean or last)");
        }
        String format = body.path("encoding_format").asText("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiError.invalid("encoding_format", "encoding_format: '" + format + "' (expected float or base64)");
        }
        ObjectNode root = JSON.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            int[] t = inputs.get(i);
            if (t.length > options.contextSize()) {
                throw new ApiError(400, "invalid_request_error", "input", "context_length_exceeded",
                        "input " + i + " has " + t.length + " tokens; this server's context is " + options.contextSize());
            }
            float[] v;
            try {
                v = scheduler.embed(t, pooling.equals("mean")).get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof UnsupportedOperationException u) {
                    throw new ApiError(400, "invalid_request_error", null, "unsupported", u.getMessage());
                }
                throw new ApiError(500, "server_error", null, null, "embedding failed: " + e.getCause());
            }
            double norm = 0;
            for (float x : v) norm += (double) x * x;
            float inv = norm > 0 ? (float) (1 / Math.sqrt(norm)) : 0f;
            ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
            if (format.equals("float")) {
                ArrayNode arr = item.putArray("embedding");
                for (float x : v) arr.add(x * inv);
            } else {
                java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (float x : v) bb.putFloat(x * inv);
                item.put("embedding", java.util.Base64.getEncoder().encodeToString(bb.array()));
            }
            tokens += t.length;
        }
        root.put("model", options.modelName());
        root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        json(ctx, 200, root);
    }

    private int[] tokenIds(JsonNode arr, String param) {
        int[] t = new int[arr.size()];
        for (int i = 0; i < t.length; i++) {
            JsonNode v = arr.get(i);
            if (!v.isIntegralNumber() || v.asInt() < 0 || v.asInt() >= tokenizer.vocabSize()) {
                throw ApiError.invalid(param, param + "[" + i + "]: expected a token id in [0, " + tokenizer.vocabSize() + ")");
            }
            t[i] = v.asInt();
        }
        return t;
    }

    /**
     * Parses a KV policy for a request; {@code full} (F16) gives null, which means the server's paged cache with
     * prefix caching. Throws IllegalArgumentException for a bad specification.
     */
    public static KvPolicy requestPolicy(String spec) {
        KvPolicy k = KvPolicy.parse(spec);
        return k instanceof KvPolicy.Full f && f.type() == io.jlm.core.tensor.GGMLType.F16 ? null : k;
    }

    /** The extension field {@code kv_policy} (see docs/LONG_CONTEXT.md), else the server's default policy. */
    private KvPolicy kvPolicy(JsonNode body) {
        JsonNode p = body.get("kv_policy");
        if (p == null || p.isNull()) return options.kvPolicy();
        if (!p.isTextual()) throw ApiError.invalid("kv_policy", "kv_policy: expected a string such as \"q8_0\" or \"sink:4,window:256\"");
        try {
            return requestPolicy(p.asText());
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid("kv_policy", "kv_policy: " + e.getMessage());
        }
    }

    private JsonNode parseBody(Context ctx) {
        String ct = ctx.contentType();
        if (ct != null && !ct.toLowerCase().startsWith("application/json")) {
            throw new ApiError(415, "invalid_request_error", null, null, "Content-Type must be application/json, got " + ct);
        }
        JsonNode body;
        try {
            body = JSON.readTree(ctx.bodyAsBytes());
        } catch (JsonProcessingException e) {
            throw ApiError.invalid(null, "request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.invalid(null, "request body could not be read: " + e.getMessage());
        }
        if (body == null || !body.isObject()) throw ApiError.invalid(null, "request body must be a JSON object");
        return body;
    }

    private int[] chatPrompt(JsonNode body) {
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw ApiError.invalid("messages", "messages: expected a non-empty array of {role, content}");
        }
        List<ChatMessage> list = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String role = m.path("role").asText(null);
            if (role == null || !List.of("system", "developer", "user", "assistant", "tool").contains(role)) {
                throw ApiError.invalid("messages[" + i + "].role", "messages[" + i + "].role: expected system, user or assistant");
            }
            list.add(new ChatMessage(role.equals("developer") ? "system" : role, content(m.get("content"), i)));
        }
        String rendered;
        try {
            rendered = template.render(list, true);
        } catch (RuntimeException e) {
            throw ApiError.invalid("messages", "the chat template cannot render these messages: " + e.getMessage());
        }
        return template.tokenize(tokenizer, rendered);
    }

    private static String content(JsonNode c, int i) {
        if (c == null || c.isNull()) return "";
        if (c.isTextual()) return c.asText();
        if (c.isArray()) { // content parts: only text is supported
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiError.invalid("messages[" + i + "].content", "messages[" + i + "].content: only text parts are supported");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiError.invalid("messages[" + i + "].content", "messages[" + i + "].content: expected a string");
    }

    private int[] textPrompt(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) p = p.get(0);
        if (p != null && p.isTextual()) return tokenizer.encode(p.asText(), true, false);
        if (p != null && p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
            int[] t = new int[p.size()];
            for (int i = 0; i < t.length; i++) {
                if (!p.get(i).isIntegralNumber()) throw ApiError.invalid("prompt", "prompt: token arrays must hold integers");
                t[i] = p.get(i).asInt();
                if (t[i] < 0 || t[i] >= tokenizer.vocabSize()) {
                    throw ApiError.invalid("prompt", "prompt: token " + t[i] + " outside the vocabulary [0, " + tokenizer.vocabSize() + ")");
                }
            }
            return t;
        }
        throw ApiError.invalid("prompt", "prompt: expected a string, a one-element array of strings, or an array of token ids");
    }

    // ------------------------------------------------------------------ results

    /** What a sequence's listener hands to the request thread. */
    private record Event(int index, String text, TokenLogprob logprob, FinishReason finish, String error,
                         int promptTokens, int completionTokens) {}

    private record QueueListener(int index, LinkedBlockingQueue<Event> queue) implements SequenceListener {
        @Override public void onToken(String text, TokenLogprob logprob) { queue.add(new Event(index, text, logprob, null, null, 0, 0)); }
        @Override public void onFinish(FinishReason reason, int p, int c) { queue.add(new Event(index, null, null, reason, null, p, c)); }
        @Override public void onError(String message) { queue.add(new Event(index, null, null, null, message, 0, 0)); }
    }

    /** Accumulates the choices of one request and renders OpenAI JSON. */
    private final class Response {
        final String id;
        final boolean chat;
        final int promptTokens;
        final StringBuilder[] text;
        final List<List<TokenLogprob>> logprobs = new ArrayList<>();
        final String[] finish;
        int completionTokens, finished;
        final long createdAt = System.currentTimeMillis() / 1000;

        Response(String id, boolean chat, int n, int promptTokens) {
            this.id = id;
            this.chat = chat;
            this.promptTokens = promptTokens;
            this.text = new StringBuilder[n];
            this.finish = new String[n];
            for (int i = 0; i < n; i++) {
                text[i] = new StringBuilder();
                logprobs.add(new ArrayList<>());
            }
        }

        ObjectNode base(String object) {
            return JSON.createObjectNode().put("id", id).put("object", object).put("created", createdAt)
                    .put("model", options.modelName()).put("system_fingerprint", "jlm");
        }

        ObjectNode usage() {
            return JSON.createObjectNode().put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
                    .put("total_tokens", promptTokens + completionTokens);
        }

        ObjectNode full() {
            ObjectNode root = base(chat ? "chat.completion" : "text_completion");
            ArrayNode choices = root.putArray("choices");
            for (int i = 0; i < text.length; i++) {
                ObjectNode c = choices.addObject().put("index", i);
                if (chat) {
                    c.putObject("message").put("role", "assistant").put("content", text[i].toString());
                    c.set("logprobs", chatLogprobs(logprobs.get(i)));
                } else {
                    c.put("text", text[i].toString());
                    c.set("logprobs", textLogprobs(logprobs.get(i)));
                }
                c.put("finish_reason", finish[i]);
            }
            root.set("usage", usage());
            return root;
        }

        ObjectNode chunk(int index, String delta, TokenLogprob lp, String finishReason, boolean first) {
            ObjectNode root = base(chat ? "chat.completion.chunk" : "text_completion");
            ObjectNode c = root.putArray("choices").addObject().put("index", index);
            List<TokenLogprob> lps = lp == null ? null : List.of(lp);
            if (chat) {
                ObjectNode d = c.putObject("delta");
                if (first) d.put("role", "assistant");
                if (delta != null) d.put("content", delta);
                c.set("logprobs", chatLogprobs(lps));
            } else {
                c.put("text", delta == null ? "" : delta);
                c.set("logprobs", textLogprobs(lps));
            }
            c.put("finish_reason", finishReason);
            return root;
        }
    }

    private static JsonNode chatLogprobs(List<TokenLogprob> lps) {
        if (lps == null || lps.isEmpty()) return JSON.nullNode();
        ObjectNode o = JSON.createObjectNode();
        ArrayNode content = o.putArray("content");
        for (TokenLogprob lp : lps) {
            ObjectNode e = logprobEntry(lp);
            ArrayNode top = e.putArray("top_logprobs");
            for (TokenLogprob t : lp.top()) top.add(logprobEntry(t));
            content.add(e);
        }
        return o;
    }

    private static ObjectNode logprobEntry(TokenLogprob lp) {
        ObjectNode e = JSON.createObjectNode().put("token", lp.text()).put("logprob", lp.logprob());
        ArrayNode b = e.putArray("bytes");
        for (byte x : lp.bytes()) b.add(x & 0xff);
        return e;
    }

    private static JsonNode textLogprobs(List<TokenLogprob> lps) {
        if (lps == null || lps.isEmpty()) return JSON.nullNode();
        ObjectNode o = JSON.createObjectNode();
        ArrayNode tokens = o.putArray("tokens"), values = o.putArray("token_logprobs"), top = o.putArray("top_logprobs");
        for (TokenLogprob lp : lps) {
            tokens.add(lp.text());
            values.add(lp.logprob());
            ObjectNode t = top.addObject();
            for (TokenLogprob a : lp.top()) t.put(a.text(), a.logprob());
        }
        return o;
    }

    private void collect(Response r, LinkedBlockingQueue<Event> events, List<Scheduler.Handle> handles) throws InterruptedException {
        while (r.finished < r.text.length) {
            Event e = events.take();
            if (e.error() != null) {
                handles.forEach(Scheduler.Handle::cancel);
                metrics.requestErrors.increment();
                throw new ApiError(503, "server_error", null, null, e.error());
            }
            if (e.finish() != null) {
                r.finish[e.index()] = e.finish().openAi();
                r.completionTokens += e.completionTokens();
                r.finished++;
            } else {
                r.text[e.index()].append(e.text());
                if (e.logprob() != null) r.logprobs.get(e.index()).add(e.logprob());
            }
        }
    }

    private void stream(Context ctx, Response r, LinkedBlockingQueue<Event> events, List<Scheduler.Handle> handles,
                        boolean includeUsage) {
        ctx.status(200);
        var res = ctx.res();
        res.setContentType("text/event-stream; charset=utf-8");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        boolean[] started = new boolean[r.text.length];
        try {
            OutputStream out = res.getOutputStream();
            while (r.finished < r.text.length) {
                Event e = events.poll(1, TimeUnit.SECONDS);
                if (e == null) { // nothing yet (queued or reading a long prompt): probe the connection
                    out.write(": waiting\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    continue;
                }
                ObjectNode chunk;
                if (e.error() != null) {
                    metrics.requestErrors.increment();
                    ObjectNode err = JSON.createObjectNode();
                    err.putObject("error").put("message", e.error()).put("type", "server_error");
                    send(out, err);
                    handles.forEach(Scheduler.Handle::cancel);
                    return;
                } else if (e.finish() != null) {
                    r.completionTokens += e.completionTokens();
                    r.finished++;
                    chunk = r.chunk(e.index(), r.chat ? null : "", null, e.finish().openAi(), !started[e.index()]);
                } else {
                    chunk = r.chunk(e.index(), e.text(), e.logprob(), null, !started[e.index()]);
                }
                started[e.index()] = true;
                if (includeUsage) chunk.putNull("usage");
                send(out, chunk);
            }
            if (includeUsage) {
                ObjectNode u = r.base(r.chat ? "chat.completion.chunk" : "text_completion");
                u.putArray("choices");
                u.set("usage", r.usage());
                send(out, u);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) { // client went away: free its sequences now
            handles.forEach(Scheduler.Handle::cancel);
        } catch (InterruptedException e) {
            handles.forEach(Scheduler.Handle::cancel);
            Thread.currentThread().interrupt();
        }
    }

    private static void send(OutputStream out, JsonNode node) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(node) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private void error(Context ctx, ApiError e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage()).put("type", e.type);
        if (e.param != null) err.put("param", e.param); else err.putNull("param");
        if (e.code != null) err.put("code", e.code); else err.putNull("code");
        json(ctx, e.status, root);
    }

    private static void json(Context ctx, int status, JsonNode node) {
        try {
            ctx.status(status).contentType("application/json").result(JSON.writeValueAsString(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = JlmServer.class.getResourceAsStream(name)) {
            if (in == null) throw new IOException("missing resource " + name);
            return in.readAllBytes();
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (app != null) app.stop();
        scheduler.close();
    }
}
