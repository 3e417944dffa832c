package io.jlm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.jlm.engine.SamplerConfig;

import java.util.ArrayList;
import java.util.List;

/** Reads and validates the OpenAI request fields shared by chat and text completions. */
final class RequestParser {
    private RequestParser() {}

    /** The sampling-related fields of one request. */
    record Common(SamplerConfig sampling, Integer maxTokens, List<String> stop, int n, boolean stream,
                  boolean includeUsage, ByteGrammar grammar) {}

    static Common common(JsonNode body, int contextSize, int maxTokensLimit) {
        float temperature = (float) number(body, "temperature", 1.0, 0, 2);
        float topP = (float) number(body, "top_p", 1.0, 0, 1);
        if (topP == 0f) topP = Float.MIN_NORMAL; // top_p 0 means "only the most likely token"
        float presence = (float) number(body, "presence_penalty", 0, -2, 2);
        float frequency = (float) number(body, "frequency_penalty", 0, -2, 2);
        long seed = body.hasNonNull("seed") ? integer(body, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE)
                : System.nanoTime();
        Integer maxTokens = null;
        String maxField = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (body.hasNonNull(maxField)) maxTokens = (int) integer(body, maxField, 0, 0, maxTokensLimit);
        int n = (int) integer(body, "n", 1, 1, 8);
        List<String> stop = new ArrayList<>();
        JsonNode s = body.get("stop");
        if (s != null && !s.isNull()) {
            if (s.isTextual()) stop.add(s.asText());
            else if (s.isArray() && s.size() <= 4) {
                for (JsonNode e : s) {
                    if (!e.isTextual()) throw ApiError.invalid("stop", "stop: every entry must be a string");
                    stop.add(e.asText());
                }
            } else throw ApiError.invalid("stop", "stop: expected a string or an array of at most 4 strings");
        }
        boolean stream = bool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && so.isObject()) includeUsage = bool(so, "include_usage", false);
        ByteGrammar grammar = null;
        JsonNode rf = body.get("response_format");
        if (rf != null && !rf.isNull()) {
            if (!rf.isObject() || !rf.path("type").isTextual()) {
                throw ApiError.invalid("response_format", "response_format: expected an object with a \"type\"");
            }
            switch (rf.get("type").asText()) {
                case "text" -> { }
                case "json_object" -> grammar = new JsonGrammar();
                case "json_schema" -> {
                    JsonNode schema = rf.path("json_schema").get("schema");
                    if (schema == null) {
                        throw ApiError.invalid("response_format.json_schema", "response_format.json_schema.schema: missing");
                    }
                    try {
                        grammar = SchemaGrammar.compile(schema);
                    } catch (IllegalArgumentException e) {
                        throw ApiError.invalid("response_format.json_schema", "response_format.json_schema: " + e.getMessage());
                    }
                }
                default -> throw ApiError.invalid("response_format.type",
                        "response_format.type: '" + rf.get("type").asText() + "' (expected text, json_object or json_schema)");
            }
        }
        SamplerConfig cfg = new SamplerConfig(temperature, 0, topP, 0f, 1f, contextSize, presence, frequency, seed);
        return new Common(cfg, maxTokens, stop, n, stream, includeUsage, grammar);
    }

    static double number(JsonNode body, String field, double def, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return def;
        if (!v.isNumber()) throw ApiError.invalid(field, field + ": expected a number, got " + v.getNodeType().name().toLowerCase());
        double d = v.asDouble();
        if (!(d >= min && d <= max)) throw ApiError.invalid(field, field + ": " + d + " (expected " + min + " to " + max + ")");
        return d;
    }

    static long integer(JsonNode body, String field, long def, long min, long max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return def;
        if (!v.isIntegralNumber()) throw ApiError.invalid(field, field + ": expected an integer, got " + v);
        long d = v.asLong();
        if (d < min || d > max) throw ApiError.invalid(field, field + ": " + d + " (expected " + min + " to " + max + ")");
        return d;
    }

    static boolean bool(JsonNode body, String field, boolean def) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return def;
        if (!v.isBoolean()) throw ApiError.invalid(field, field + ": expected true or false, got " + v);
        return v.asBoolean();
    }
}
