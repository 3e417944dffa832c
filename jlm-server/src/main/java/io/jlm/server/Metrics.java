package io.jlm.server;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/** Counters and gauges of the server, rendered in the Prometheus text format at {@code /metrics}. */
public final class Metrics {
    final LongAdder requests = new LongAdder();
    final LongAdder requestErrors = new LongAdder();
    final LongAdder rejectedQueueFull = new LongAdder();
    final LongAdder cancelled = new LongAdder();
    final LongAdder promptTokens = new LongAdder();
    final LongAdder prefixReusedTokens = new LongAdder();
    final LongAdder generatedTokens = new LongAdder();
    final LongAdder steps = new LongAdder();
    final LongAdder stepRows = new LongAdder();
    final LongAdder ttftCount = new LongAdder();
    final AtomicLong ttftNanos = new AtomicLong();
    /** Decode tokens per second over the last scheduler steps (exponential average). */
    volatile double tokensPerSecond;

    private volatile IntSupplier queueDepth = () -> 0, running = () -> 0, kvUsed = () -> 0, kvTotal = () -> 0;

    void gauges(IntSupplier queueDepth, IntSupplier running, IntSupplier kvUsed, IntSupplier kvTotal) {
        this.queueDepth = queueDepth;
        this.running = running;
        this.kvUsed = kvUsed;
        this.kvTotal = kvTotal;
    }

    void firstToken(long nanos) {
        ttftCount.increment();
        ttftNanos.addAndGet(nanos);
    }

    public long prefixReusedTokens() { return prefixReusedTokens.sum(); }
    public long generatedTokens() { return generatedTokens.sum(); }
    public int queueDepth() { return queueDepth.getAsInt(); }
    public int runningSequences() { return running.getAsInt(); }
    public int kvBlocksUsed() { return kvUsed.getAsInt(); }

    /** Prometheus exposition text (version 0.0.4). */
    public String render() {
        StringBuilder s = new StringBuilder(2048);
        gauge(s, "jlm_queue_depth", "Requests waiting for a batch slot.", queueDepth.getAsInt());
        gauge(s, "jlm_running_sequences", "Sequences in the running batch.", running.getAsInt());
        gauge(s, "jlm_kv_blocks_used", "Paged KV cache blocks held by sequences.", kvUsed.getAsInt());
        gauge(s, "jlm_kv_blocks_total", "Paged KV cache blocks in the pool.", kvTotal.getAsInt());
        gauge(s, "jlm_decode_tokens_per_second", "Aggregate generated tokens per second (recent steps).", tokensPerSecond);
        counter(s, "jlm_requests_total", "Generation requests accepted.", requests.sum());
        counter(s, "jlm_request_errors_total", "Requests answered with an error.", requestErrors.sum());
        counter(s, "jlm_rejected_queue_full_total", "Requests refused with 429 because the queue was full.", rejectedQueueFull.sum());
        counter(s, "jlm_cancelled_total", "Sequences cancelled (client gone).", cancelled.sum());
        counter(s, "jlm_prompt_tokens_total", "Prompt tokens received.", promptTokens.sum());
        counter(s, "jlm_prefix_cache_reused_tokens_total", "Prompt tokens served from the prefix cache.", prefixReusedTokens.sum());
        counter(s, "jlm_generated_tokens_total", "Tokens generated.", generatedTokens.sum());
        counter(s, "jlm_scheduler_steps_total", "Batched forward steps.", steps.sum());
        counter(s, "jlm_scheduler_rows_total", "Token rows processed by batched steps.", stepRows.sum());
        s.append("# HELP jlm_time_to_first_token_seconds Time from request to first generated token.\n")
                .append("# TYPE jlm_time_to_first_token_seconds summary\n")
                .append("jlm_time_to_first_token_seconds_sum ").append(ttftNanos.get() / 1e9).append('\n')
                .append("jlm_time_to_first_token_seconds_count ").append(ttftCount.sum()).append('\n');
        return s.toString();
    }

    private static void gauge(StringBuilder s, String name, String help, double v) {
        s.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" gauge\n").append(name).append(' ').append(v).append('\n');
    }

    private static void counter(StringBuilder s, String name, String help, long v) {
        s.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" counter\n").append(name).append(' ').append(v).append('\n');
    }
}
