package io.jlm.server;

import io.jlm.core.tensor.GGMLType;
import io.jlm.engine.Sampler;
import io.jlm.engine.StopMatcher;
import io.jlm.models.BatchEntry;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.models.state.KvBlockPool;
import io.jlm.models.state.PagedKvCache;
import io.jlm.models.transformer.TransformerConfig;
import io.jlm.models.transformer.TransformerModel;
import io.jlm.server.SequenceListener.FinishReason;
import io.jlm.server.SequenceListener.TokenLogprob;
import io.jlm.tokenizers.StreamingDecoder;
import io.jlm.tokenizers.Tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Continuous batching: one thread owns the model and runs it in steps. Each step gathers one row per decoding
 * sequence plus up to {@code prefillChunk} prompt tokens of sequences still reading their prompt, runs them
 * through {@link LanguageModel#forwardBatch} together (the weights are read once for all rows), then samples
 * for every sequence whose logits are ready. Waiting requests join between steps as slots and KV blocks allow;
 * finished and cancelled sequences leave between steps and their KV blocks return to the pool at once.
 *
 * <p>For transformer models the KV cache is paged ({@link KvBlockPool}): a sequence reserves the blocks for its
 * prompt plus {@code max_tokens} when it is admitted (so it never runs out mid-stream), first attaching the
 * blocks of any cached prompt prefix, and publishes its prompt blocks once the prompt is read so that later
 * requests with the same prefix skip recomputing it.
 */
public final class Scheduler implements AutoCloseable {

    /** Thrown by {@link #submit} when the waiting queue is full (HTTP 429). */
    public static final class QueueFullException extends RuntimeException {
        QueueFullException(String m) { super(m); }
    }

    /** A handle to a submitted sequence. */
    public static final class Handle {
        private final Sequence seq;
        Handle(Sequence seq) { this.seq = seq; }
        /** Stops the sequence: it leaves the batch (and frees its KV blocks) before the next step. */
        public void cancel() { seq.cancelled = true; }
    }

    private final LanguageModel model;
    private final Tokenizer tokenizer;
    private final ServerOptions options;
    private final Metrics metrics;
    private final KvBlockPool pool;
    private final byte[][] tokenBytes;
    private final int vocab;

    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>(); // other model work (embeddings), run between steps
    private final List<Sequence> running = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;

    public Scheduler(LanguageModel model, Tokenizer tokenizer, ServerOptions options, Metrics metrics) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.metrics = metrics;
        this.vocab = model.config().vocabSize();
        this.tokenBytes = JsonConstraint.tokenTable(tokenizer);
        if (model instanceof TransformerModel tm) {
            tm.batchInvariant(options.batchInvariant());
            TransformerConfig c = tm.transformerConfig();
            int perSeq = (options.contextSize() + options.kvBlockSize() - 1) / options.kvBlockSize();
            int blocks = options.kvBlocks() > 0 ? options.kvBlocks() : options.maxBatch() * perSeq + perSeq;
            this.pool = new KvBlockPool(GGMLType.F16, c.layers(), c.kvHeads(), c.headDim(), options.kvBlockSize(), blocks);
        } else {
            this.pool = null;
        }
        metrics.gauges(this::queueDepth, this::runningCount,
                () -> pool == null ? 0 : pool.usedBlocks(), () -> pool == null ? 0 : pool.totalBlocks());
        this.thread = Thread.ofPlatform().name("jlm-scheduler").daemon().start(this::loop);
    }

    public KvBlockPool pool() { return pool; }

    public synchronized int queueDepth() { return waiting.size(); }

    public synchronized int runningCount() { return running.size(); }

    /**
     * Queues a request. Its tokens must fit the context ({@code prompt + maxTokens <= contextSize}; the HTTP
     * layer checks). Throws {@link QueueFullException} when {@code maxQueue} requests already wait.
     */
    public Handle submit(GenerationRequest request, SequenceListener listener) {
        if (request.prompt().length + request.maxTokens() > options.contextSize()) {
            throw new IllegalArgumentException("prompt (" + request.prompt().length + " tokens) + max_tokens ("
                    + request.maxTokens() + ") exceeds the context size " + options.contextSize());
        }
        for (int t : request.prompt()) {
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token " + t + " outside the vocabulary [0, " + vocab + ")");
        }
        Sequence s = new Sequence(request, listener);
        synchronized (this) {
            if (closed) throw new IllegalStateException("server is shutting down");
            if (waiting.size() >= options.maxQueue()) {
                metrics.rejectedQueueFull.increment();
                throw new QueueFullException("too many requests waiting (" + waiting.size() + "); retry later");
            }
            waiting.add(s);
            metrics.requests.increment();
            metrics.promptTokens.add(request.prompt().length);
            notifyAll();
        }
        return new Handle(s);
    }

    // ------------------------------------------------------------------ the scheduler thread

    private final class Sequence {
        final GenerationRequest req;
        final SequenceListener listener;
        final long submitted = System.nanoTime();
        volatile boolean cancelled;
        ModelState state;
        PagedKvCache cache;
        int read;          // prompt tokens held by the state
        int lastToken = -1;
        int generated;
        boolean firstToken = true;
        Sampler sampler;
        StreamingDecoder utf8;
        StopMatcher stop;
        JsonConstraint json;

        Sequence(GenerationRequest req, SequenceListener listener) {
            this.req = req;
            this.listener = listener;
        }

        boolean prefilling() { return read < req.prompt().length; }
    }

    private void loop() {
        List<BatchEntry> entries = new ArrayList<>();
        List<Sequence> rows = new ArrayList<>();
        while (true) {
            synchronized (this) {
                while (!closed && waiting.isEmpty() && running.isEmpty() && tasks.isEmpty()) {
                    try { wait(); } catch (InterruptedException e) { return; }
                }
                if (closed) break;
                dropCancelled();
                admit();
            }
            for (Runnable task; (task = pollTask()) != null; ) task.run();
            entries.clear();
            rows.clear();
            int decodeRows = 0;
            for (Sequence s : running) {
                if (!s.prefilling()) {
                    entries.add(new BatchEntry(s.state, new int[]{s.lastToken}, false));
                    rows.add(s);
                    decodeRows++;
                }
            }
            int budget = options.prefillChunk();
            for (Sequence s : running) {
                if (budget == 0) break;
                if (s.prefilling()) {
                    int n = Math.min(budget, s.req.prompt().length - s.read);
                    int[] chunk = new int[n];
                    System.arraycopy(s.req.prompt(), s.read, chunk, 0, n);
                    entries.add(new BatchEntry(s.state, chunk, false));
                    rows.add(s);
                    budget -= n;
                }
            }
            if (entries.isEmpty()) continue; // everything admitted was cancelled
            long t0 = System.nanoTime();
            List<float[]> logits;
            try {
                logits = model.forwardBatch(entries);
            } catch (RuntimeException | Error e) { // fail this step's requests instead of hanging them
                failAll(rows, "model step failed: " + e);
                continue;
            }
            long dt = System.nanoTime() - t0;
            metrics.steps.increment();
            metrics.stepRows.add(entries.stream().mapToInt(b -> b.tokens().length).sum());
            if (decodeRows > 0) {
                double tps = decodeRows / (dt / 1e9);
                metrics.tokensPerSecond = metrics.tokensPerSecond == 0 ? tps : 0.8 * metrics.tokensPerSecond + 0.2 * tps;
            }
            for (int i = 0; i < rows.size(); i++) {
                Sequence s = rows.get(i);
                if (s.prefilling()) {
                    s.read += entries.get(i).tokens().length;
                    if (s.prefilling()) continue;
                    if (s.cache != null) s.cache.publish(s.req.prompt());
                    if (s.req.maxTokens() == 0) { finish(s, FinishReason.LENGTH); continue; }
                }
                try {
                    step(s, logits.get(i));
                } catch (RuntimeException e) {
                    failAll(List.of(s), "sampling failed: " + e);
                }
            }
            synchronized (this) {
                running.removeIf(s -> s.state == null);
            }
        }
        synchronized (this) {
            for (Sequence s : running) release(s);
            for (Sequence s : waiting) s.listener.onError("server shut down");
            tasks.clear();
            running.clear();
            waiting.clear();
        }
    }

    private synchronized Runnable pollTask() { return tasks.poll(); }

    /**
     * The final-norm hidden state of {@code tokens} (mean over tokens or the last token's), computed on the
     * scheduler thread between steps in a fresh state.
     */
    public java.util.concurrent.CompletableFuture<float[]> embed(int[] tokens, boolean mean) {
        for (int t : tokens) {
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token " + t + " outside the vocabulary [0, " + vocab + ")");
        }
        var result = new java.util.concurrent.CompletableFuture<float[]>();
        synchronized (this) {
            if (closed) throw new IllegalStateException("server is shutting down");
            tasks.add(() -> {
                try {
                    result.complete(model.embed(model.newState(tokens.length), tokens, mean));
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                }
            });
            notifyAll();
        }
        return result;
    }

    /** Removes cancelled sequences from the queue and the batch (their blocks are freed now). */
    private void dropCancelled() {
        for (Iterator<Sequence> it = waiting.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled) {
                it.remove();
                metrics.cancelled.increment();
                s.listener.onFinish(FinishReason.CANCELLED, s.req.prompt().length, 0);
            }
        }
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled) {
                it.remove();
                metrics.cancelled.increment();
                release(s);
                s.listener.onFinish(FinishReason.CANCELLED, s.req.prompt().length, s.generated);
            }
        }
    }

    /** Moves waiting sequences into the batch while there are slots and KV blocks (first come, first served). */
    private void admit() {
        while (running.size() < options.maxBatch() && !waiting.isEmpty()) {
            Sequence s = waiting.peek();
            int[] prompt = s.req.prompt();
            if (s.req.kvPolicy() != null) { // a policy cache of its own: bounded memory, no prefix sharing
                try {
                    s.state = model.newState(options.contextSize(), s.req.kvPolicy());
                } catch (RuntimeException e) {
                    waiting.poll();
                    metrics.requestErrors.increment();
                    s.listener.onError("KV policy " + s.req.kvPolicy().spec() + ": " + e.getMessage());
                    continue;
                }
            } else if (pool != null) {
                PagedKvCache cache = pool.newCache(options.contextSize());
                int reused = cache.attachPrefix(prompt);
                if (!cache.reserve(prompt.length + s.req.maxTokens())) {
                    cache.close();
                    if (running.isEmpty()) { // can never fit: fail instead of waiting forever
                        waiting.poll();
                        metrics.requestErrors.increment();
                        s.listener.onError("the request needs more KV cache blocks than the pool has ("
                                + pool.totalBlocks() + " blocks of " + pool.blockSize() + ")");
                        continue;
                    }
                    return; // wait for running sequences to free blocks
                }
                s.cache = cache;
                s.state = ((TransformerModel) model).newState(cache);
                s.read = reused;
                metrics.prefixReusedTokens.add(reused);
            } else {
                s.state = model.newState(options.contextSize());
            }
            waiting.poll();
            var cfg = s.req.sampling();
            s.sampler = new Sampler(cfg, vocab);
            s.utf8 = new StreamingDecoder(tokenizer);
            s.stop = new StopMatcher(s.req.stop());
            if (s.req.grammar() != null) s.json = new JsonConstraint(tokenizer, tokenBytes, s.req.grammar().fresh());
            running.add(s);
        }
    }

    /** Samples the next token of a decoding sequence from its logits and emits it. */
    private void step(Sequence s, float[] logits) {
        if (s.cancelled) return; // dropped before the next step
        if (s.json != null) {
            if (s.json.done()) { finish(s, FinishReason.STOP); return; }
            if (s.json.mask(logits) == 0) { finish(s, FinishReason.STOP); return; }
        }
        int t = s.sampler.sample(logits);
        s.sampler.accept(t);
        if (s.json != null) s.json.accept(t);
        TokenLogprob lp = s.req.topLogprobs() >= 0 ? logprobs(logits, t, s.req.topLogprobs()) : null;
        s.generated++;
        metrics.generatedTokens.increment();
        if (s.firstToken) {
            s.firstToken = false;
            metrics.firstToken(System.nanoTime() - s.submitted);
        }
        if (tokenizer.isEndOfGeneration(t)) {
            if (lp != null) s.listener.onToken("", lp);
            finish(s, FinishReason.STOP);
            return;
        }
        String released = s.stop.feed(s.utf8.accept(t));
        s.listener.onToken(released, lp);
        if (s.stop.stopped()) { finish(s, FinishReason.STOP); return; }
        if (s.generated >= s.req.maxTokens() || s.state.position() >= s.state.capacity()) {
            finish(s, FinishReason.LENGTH);
            return;
        }
        s.lastToken = t;
    }

    private void finish(Sequence s, FinishReason reason) {
        if (reason != FinishReason.CANCELLED && !s.stop.stopped()) {
            String rest = s.stop.feed(s.utf8.flush());
            if (!s.stop.stopped()) rest += s.stop.flush();
            else reason = FinishReason.STOP;
            if (!rest.isEmpty()) s.listener.onToken(rest, null);
        }
        release(s);
        s.listener.onFinish(reason, s.req.prompt().length, s.generated);
    }

    private void release(Sequence s) {
        if (s.cache != null) s.cache.close();
        s.cache = null;
        s.state = null;
    }

    private void failAll(List<Sequence> rows, String message) {
        metrics.requestErrors.add(rows.size());
        synchronized (this) {
            for (Sequence s : rows) {
                if (s.state == null) continue;
                release(s);
                running.remove(s);
                s.listener.onError(message);
            }
        }
    }

    /** Log-softmax of the chosen token and the {@code top} most likely ones. */
    private TokenLogprob logprobs(float[] logits, int chosen, int top) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) if (v > max) max = v;
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        float logZ = (float) (max + Math.log(sum));
        List<TokenLogprob> alternatives = new ArrayList<>(top);
        if (top > 0) {
            int[] best = new int[top];
            int n = 0;
            for (int i = 0; i < logits.length; i++) { // insertion into a small sorted list
                if (n < top || logits[i] > logits[best[n - 1]]) {
                    int j = Math.min(n, top - 1);
                    while (j > 0 && logits[best[j - 1]] < logits[i]) { best[j] = best[j - 1]; j--; }
                    best[j] = i;
                    if (n < top) n++;
                }
            }
            for (int k = 0; k < n; k++) alternatives.add(entry(best[k], logits[best[k]] - logZ, List.of()));
        }
        return entry(chosen, logits[chosen] - logZ, alternatives);
    }

    private TokenLogprob entry(int token, float lp, List<TokenLogprob> top) {
        byte[] b = tokenBytes[token];
        return new TokenLogprob(token, new String(b, java.nio.charset.StandardCharsets.UTF_8), b, lp, top);
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (pool != null) pool.close();
    }
}
