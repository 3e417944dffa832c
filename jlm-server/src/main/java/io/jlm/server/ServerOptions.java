package io.jlm.server;

import io.jlm.models.state.KvPolicy;

/**
 * Settings of one {@link JlmServer}.
 *
 * @param host           address to bind; anything but a loopback address needs an {@code apiKey}
 * @param port           TCP port (0 = any free port)
 * @param apiKey         bearer token every API request must carry; null = none (only allowed on loopback)
 * @param modelName      the id reported by {@code /v1/models} and in responses
 * @param contextSize    positions per sequence (prompt + completion)
 * @param maxBatch       sequences decoded together in one step (continuous batching)
 * @param prefillChunk   prompt tokens processed per scheduler step across all sequences, so a long prompt
 *                       cannot stall the running streams for more than one chunk
 * @param maxQueue       requests waiting for a batch slot before new ones get HTTP 429
 * @param maxTokensLimit largest {@code max_tokens} a request may ask for
 * @param maxBodyBytes   largest request body accepted (HTTP 413 beyond)
 * @param kvBlocks       blocks in the paged KV pool (0 = enough for {@code maxBatch} full contexts)
 * @param kvBlockSize    positions per KV block
 * @param kvPolicy       default KV policy of requests that name none (null = paged F16 cache with prefix caching)
 * @param batchInvariant run every step through the matrix-matrix kernels so that a sequence's results do not
 *                       depend on what it is batched with (bit-identical greedy output, slower single stream)
 */
public record ServerOptions(String host, int port, String apiKey, String modelName, int contextSize, int maxBatch,
                            int prefillChunk, int maxQueue, int maxTokensLimit, int maxBodyBytes, int kvBlocks,
                            int kvBlockSize, boolean batchInvariant, KvPolicy kvPolicy) {

    public ServerOptions {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("host: empty (expected an address such as 127.0.0.1)");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port: " + port + " (expected 0..65535)");
        if (apiKey != null && apiKey.isBlank()) apiKey = null;
        if (contextSize < 2) throw new IllegalArgumentException("context size: " + contextSize + " (expected >= 2)");
        if (maxBatch < 1) throw new IllegalArgumentException("parallel sequences: " + maxBatch + " (expected >= 1)");
        if (prefillChunk < 1) throw new IllegalArgumentException("prefill chunk: " + prefillChunk + " (expected >= 1)");
        if (maxQueue < 0) throw new IllegalArgumentException("queue size: " + maxQueue + " (expected >= 0)");
        if (maxTokensLimit < 1) throw new IllegalArgumentException("max tokens limit: " + maxTokensLimit + " (expected >= 1)");
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("max body bytes: " + maxBodyBytes + " (expected >= 1024)");
        if (kvBlocks < 0) throw new IllegalArgumentException("KV blocks: " + kvBlocks + " (expected >= 0)");
        if (kvBlockSize < 1) throw new IllegalArgumentException("KV block size: " + kvBlockSize + " (expected >= 1)");
    }

    /** Loopback defaults: 127.0.0.1:8080, no key, 8 parallel sequences. */
    public static ServerOptions defaults(String modelName, int contextSize) {
        return new ServerOptions("127.0.0.1", 8080, null, modelName, contextSize, 8, 256, 64, 4096, 1 << 20, 0, 16, false, null);
    }

    public ServerOptions withPort(int p) { return new ServerOptions(host, p, apiKey, modelName, contextSize, maxBatch, prefillChunk, maxQueue, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, batchInvariant, kvPolicy); }
    public ServerOptions withKvPolicy(KvPolicy p) { return new ServerOptions(host, port, apiKey, modelName, contextSize, maxBatch, prefillChunk, maxQueue, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, batchInvariant, p); }
    public ServerOptions withHost(String h) { return new ServerOptions(h, port, apiKey, modelName, contextSize, maxBatch, prefillChunk, maxQueue, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, batchInvariant, kvPolicy); }
    public ServerOptions withApiKey(String k) { return new ServerOptions(host, port, k, modelName, contextSize, maxBatch, prefillChunk, maxQueue, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, batchInvariant, kvPolicy); }
    public ServerOptions withMaxBatch(int b) { return new ServerOptions(host, port, apiKey, modelName, contextSize, b, prefillChunk, maxQueue, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, batchInvariant, kvPolicy); }
    public ServerOptions withMaxQueue(int q) { return new ServerOptions(host, port, apiKey, modelName, contextSize, maxBatch, prefillChunk, q, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, batchInvariant, kvPolicy); }
    public ServerOptions withPrefillChunk(int c) { return new ServerOptions(host, port, apiKey, modelName, contextSize, maxBatch, c, maxQueue, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, batchInvariant, kvPolicy); }
    public ServerOptions withKvBlocks(int n, int size) { return new ServerOptions(host, port, apiKey, modelName, contextSize, maxBatch, prefillChunk, maxQueue, maxTokensLimit, maxBodyBytes, n, size, batchInvariant, kvPolicy); }
    public ServerOptions withBatchInvariant(boolean on) { return new ServerOptions(host, port, apiKey, modelName, contextSize, maxBatch, prefillChunk, maxQueue, maxTokensLimit, maxBodyBytes, kvBlocks, kvBlockSize, on, kvPolicy); }
    public ServerOptions withLimits(int maxTokens, int maxBody) { return new ServerOptions(host, port, apiKey, modelName, contextSize, maxBatch, prefillChunk, maxQueue, maxTokens, maxBody, kvBlocks, kvBlockSize, batchInvariant, kvPolicy); }
}
