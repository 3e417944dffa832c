package io.jlm.engine;

import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.tokenizers.StreamingDecoder;
import io.jlm.tokenizers.Tokenizer;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * One sequence being generated: a model, its tokenizer and a {@link ModelState}, plus the list of tokens the state
 * holds. {@link #generate} prefills new tokens in one batched forward call, then samples and decodes one token at
 * a time, streaming text through a callback (UTF-8 sequences split across tokens are held back until complete)
 * until an end-of-generation token, the token limit, a full context or a stop string.
 */
public final class Session {

    private final LanguageModel model;
    private final Tokenizer tokenizer;
    private ModelState state;
    private int[] history = new int[256];

    /** A session over a fresh state of {@code contextSize} positions. */
    public Session(LanguageModel model, Tokenizer tokenizer, int contextSize) {
        this(model, tokenizer, model.newState(contextSize));
    }

    /** A session over an empty state. */
    public Session(LanguageModel model, Tokenizer tokenizer, ModelState state) {
        this.model = Objects.requireNonNull(model);
        this.tokenizer = Objects.requireNonNull(tokenizer);
        this.state = Objects.requireNonNull(state);
        if (state.position() != 0) throw new IllegalArgumentException("state must be empty, has " + state.position() + " positions");
    }

    public LanguageModel model() { return model; }

    public Tokenizer tokenizer() { return tokenizer; }

    public ModelState state() { return state; }

    /** Number of tokens the state holds. */
    public int position() { return state.position(); }

    public int capacity() { return state.capacity(); }

    /** The tokens the state holds, in order. */
    public int[] tokens() { return Arrays.copyOf(history, state.position()); }

    /**
     * Forgets the tokens from {@code position} on.
     *
     * @throws UnsupportedOperationException if the state cannot rewind (see {@link #reset})
     */
    public void rewind(int position) {
        if (position < 0 || position > state.position()) {
            throw new IllegalArgumentException("rewind to " + position + ": expected 0.." + state.position());
        }
        if (position < state.position()) state.rewind(position);
    }

    /** Replaces the state by a fresh one of the same capacity (for states that cannot rewind). */
    public void reset() {
        state = model.newState(state.capacity());
    }

    /** Length of the common prefix of {@code tokens} and the tokens the state holds. */
    public int commonPrefix(int[] tokens) {
        int n = Math.min(tokens.length, state.position()), i = 0;
        while (i < n && tokens[i] == history[i]) i++;
        return i;
    }

    /** Feeds tokens in one batched forward call and returns the logits of the last one. */
    public float[] ingest(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("no tokens to evaluate");
        int pos = state.position();
        if (pos + tokens.length > state.capacity()) {
            throw new IllegalArgumentException("context full: " + pos + " tokens held + " + tokens.length
                    + " new > context size " + state.capacity());
        }
        float[] logits = model.forward(state, tokens, false);
        if (pos + tokens.length > history.length) {
            history = Arrays.copyOf(history, Math.max(history.length * 2, pos + tokens.length));
        }
        System.arraycopy(tokens, 0, history, pos, tokens.length);
        return logits;
    }

    /**
     * Appends {@code prompt} to the state (one batched forward call), then generates.
     * An empty prompt continues from the tokens already held (the last one is re-evaluated for its logits).
     * Every prompt and generated token is recorded in the sampler's penalty window.
     *
     * @param onText receives the text pieces as they become final (never a stop string, never part of one)
     */
    public GenerationResult generate(int[] prompt, GenerationOptions options, Sampler sampler, Consumer<String> onText) {
        if (prompt.length == 0) {
            int pos = state.position();
            if (pos == 0) throw new IllegalArgumentException("empty prompt and empty state: nothing to continue from");
            prompt = new int[]{history[pos - 1]};
            state.rewind(pos - 1);
        }
        long t0 = System.nanoTime();
        float[] logits = ingest(prompt);
        long t1 = System.nanoTime();
        for (int t : prompt) sampler.accept(t);

        StreamingDecoder utf8 = new StreamingDecoder(tokenizer);
        StopMatcher stop = new StopMatcher(options.stopStrings());
        StringBuilder text = new StringBuilder();
        int[] generated = new int[16];
        int count = 0;
        int[] one = new int[1];
        int max = options.maxTokens();
        StopReason reason = null;
        while (reason == null) {
            if (max >= 0 && count >= max) { reason = StopReason.MAX_TOKENS; break; }
            int t = sampler.sample(logits);
            sampler.accept(t);
            if (count == generated.length) generated = Arrays.copyOf(generated, count * 2);
            generated[count++] = t;
            if (tokenizer.isEndOfGeneration(t)) { reason = StopReason.END_OF_GENERATION; break; }
            String piece = utf8.accept(t);
            emit(stop.feed(piece), text, onText);
            if (stop.stopped()) { reason = StopReason.STOP_STRING; break; }
            if (max >= 0 && count >= max) { reason = StopReason.MAX_TOKENS; break; }
            if (state.position() >= state.capacity()) { reason = StopReason.CONTEXT_FULL; break; }
            one[0] = t;
            logits = ingest(one);
        }
        if (reason != StopReason.STOP_STRING) {
            emit(stop.feed(utf8.flush()), text, onText);
            if (stop.stopped()) reason = StopReason.STOP_STRING;
            else emit(stop.flush(), text, onText);
        }
        long t2 = System.nanoTime();
        GenerationStats stats = new GenerationStats(prompt.length, t1 - t0, count, t2 - t1);
        return new GenerationResult(text.toString(), Arrays.copyOf(generated, count), reason, stats);
    }

    private static void emit(String s, StringBuilder text, Consumer<String> onText) {
        if (s.isEmpty()) return;
        text.append(s);
        if (onText != null) onText.accept(s);
    }
}
