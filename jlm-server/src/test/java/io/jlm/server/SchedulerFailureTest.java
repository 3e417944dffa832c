package io.jlm.server;

import io.jlm.core.SharedData;
import io.jlm.engine.SamplerConfig;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.models.BatchEntry;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelState;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/** A model step that throws (even an Error) fails that step's requests with a message; the scheduler keeps serving. */
class SchedulerFailureTest {

    /** A tiny fake model: uniform logits except token 5; throws while {@code broken} is set. */
    static final class FlakyModel implements LanguageModel {
        final AtomicBoolean broken = new AtomicBoolean(true);
        final int vocab;
        FlakyModel(int vocab) { this.vocab = vocab; }

        @Override public ModelConfig config() { return new ModelConfig("fake", "fake", 8, 1, 1, 1, 8, 8, vocab, 64); }

        @Override public ModelState newState(int maxContext) {
            return new ModelState() {
                int pos;
                @Override public int position() { return pos; }
                @Override public int capacity() { return maxContext; }
                @Override public void rewind(int position) { pos = position; }
                @Override public long bytes() { return 0; }
            };
        }

        @Override public float[] forward(ModelState state, int[] tokens, boolean allLogits) {
            if (broken.get()) throw new StackOverflowError("simulated failure inside the model");
            float[] l = new float[vocab];
            l[5] = 10f;
            return l;
        }

        @Override public List<float[]> forwardBatch(List<BatchEntry> entries) {
            return entries.stream().map(e -> forward(e.state(), e.tokens(), false).clone()).toList();
        }

        @Override public void close() { }
    }

    @Test
    void failingStepsAnswerWithAnErrorAndLaterRequestsStillRun() throws Exception {
        Tokenizer tok;
        try (GGUFFile f = GGUFFile.open(SharedData.require("conformance/models/stories260K-f32.gguf"))) {
            tok = Tokenizers.fromGGUF(f.metadata());
        }
        FlakyModel model = new FlakyModel(tok.vocabSize());
        try (Scheduler s = new Scheduler(model, tok, ServerOptions.defaults("fake", 64), new Metrics())) {
            CompletableFuture<String> first = new CompletableFuture<>();
            s.submit(new GenerationRequest(new int[]{1, 2}, SamplerConfig.greedy(), 4, List.of(), -1, null), listener(first));
            String r1 = first.get(10, TimeUnit.SECONDS);
            assertTrue(r1.startsWith("error: model step failed") && r1.contains("simulated failure"), r1);

            model.broken.set(false);
            CompletableFuture<String> second = new CompletableFuture<>();
            s.submit(new GenerationRequest(new int[]{1, 2}, SamplerConfig.greedy(), 4, List.of(), -1, null), listener(second));
            assertEquals("finish: LENGTH, 4 tokens", second.get(10, TimeUnit.SECONDS));
        }
    }

    private static SequenceListener listener(CompletableFuture<String> done) {
        return new SequenceListener() {
            @Override public void onToken(String text, TokenLogprob logprob) { }
            @Override public void onFinish(FinishReason reason, int p, int c) { done.complete("finish: " + reason + ", " + c + " tokens"); }
            @Override public void onError(String message) { done.complete("error: " + message); }
        };
    }
}
