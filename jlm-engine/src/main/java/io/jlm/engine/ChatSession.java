package io.jlm.engine;

import io.jlm.tokenizers.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;

/**
 * A conversation: keeps the messages, renders them with the chat template for every turn, and reuses the model
 * state for the part of the new prompt that the state already holds (rewinding to the longest common token prefix)
 * so that only the new tokens are evaluated.
 */
public final class ChatSession {

    private final Session session;
    private final ChatTemplate template;
    private final List<ChatMessage> messages = new ArrayList<>();
    private int lastReused;
    private int lastEvaluated;

    public ChatSession(Session session, ChatTemplate template) {
        this.session = session;
        this.template = template;
    }

    public Session session() { return session; }

    public ChatTemplate template() { return template; }

    public List<ChatMessage> messages() { return Collections.unmodifiableList(messages); }

    /** Appends a message without generating (e.g. the system prompt). */
    public void add(ChatMessage message) { messages.add(message); }

    /** Forgets the conversation (the state is rewound lazily by the next turn). */
    public void clear() { messages.clear(); }

    /** Prompt tokens reused from the state in the last turn. */
    public int lastReusedTokens() { return lastReused; }

    /** Prompt tokens evaluated in the last turn. */
    public int lastEvaluatedTokens() { return lastEvaluated; }

    /** Tokenizes a rendered prompt: BOS per the vocabulary's rule unless the template already wrote it. */
    public int[] tokenize(String prompt) {
        return template.tokenize(session.tokenizer(), prompt);
    }

    /**
     * Adds the user's message, generates the assistant's reply (streamed to {@code onText}) and adds it to the
     * conversation. If the template cannot render the conversation the user's message is removed again.
     */
    public GenerationResult respond(String userText, GenerationOptions options, Sampler sampler, Consumer<String> onText) {
        messages.add(ChatMessage.user(userText));
        int[] tokens;
        try {
            tokens = tokenize(template.render(messages, true));
        } catch (RuntimeException e) {
            messages.removeLast();
            throw e;
        }
        int common = session.commonPrefix(tokens);
        if (common == tokens.length) common--; // re-evaluate at least one token for fresh logits
        try {
            session.rewind(common);
        } catch (UnsupportedOperationException e) {
            session.reset();
            common = 0;
        }
        if (tokens.length > session.capacity()) {
            messages.removeLast();
            throw new IllegalArgumentException("conversation of " + tokens.length + " tokens exceeds the context size " + session.capacity());
        }
        lastReused = common;
        lastEvaluated = tokens.length - common;
        GenerationResult r = session.generate(Arrays.copyOfRange(tokens, common, tokens.length), options, sampler, onText);
        messages.add(ChatMessage.assistant(r.text()));
        return r;
    }
}
