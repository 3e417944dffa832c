package io.jlm.tasks;

import io.jlm.core.SharedData;
import io.jlm.core.parallel.ThreadPool;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelState;
import io.jlm.models.Models;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class PerplexityTest {

    static final int V = 7;

    static int[] randomTokens(int n, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(V);
        return t;
    }

    /** -log p(tokens[t] | context tokens ctx[0..len)) under the counting model, computed directly. */
    static double countingNll(int[] ctx, int len, int target) {
        int c = 0;
        for (int i = 0; i < len; i++) if (ctx[i] == target) c++;
        return -Math.log((1.0 + c) / (V + len));
    }

    @Test
    void slidingWindowMatchesDirectDefinition() {
        int[] tokens = randomTokens(103, 1);
        for (int[] cs : new int[][]{{16, 15}, {16, 8}, {16, 4}, {16, 1}, {10, 7}, {200, 50}, {2, 1}}) {
            int ctx = cs[0], stride = cs[1];
            double nll = 0;
            long bytes = 0;
            for (int t = 1; t < tokens.length; t++) {
                // window scoring t: the first one that reaches past t; it starts at a multiple of stride
                int k = Math.max(0, Math.ceilDiv(t - ctx + 1, stride));
                int b = k * stride;
                nll += countingNll(java.util.Arrays.copyOfRange(tokens, b, t), t - b, tokens[t]);
                bytes += 1 + tokens[t] % 3;
            }
            Perplexity.Result r = Perplexity.evaluate(FakeModels.counting(V), tokens, id -> 1 + id % 3, -1,
                    Perplexity.Options.sliding(ctx, stride), null);
            assertEquals(tokens.length - 1, r.tokens(), "ctx " + ctx + " stride " + stride);
            assertEquals(nll, r.nll(), 1e-6 * tokens.length, "ctx " + ctx + " stride " + stride);
            assertEquals(bytes, r.bytes());
            assertEquals(Math.exp(nll / (tokens.length - 1)), r.perplexity(), 1e-6);
            assertEquals(nll / Math.log(2) / bytes, r.bitsPerByte(), 1e-6);
            assertEquals(Perplexity.windows(tokens.length, Perplexity.Options.sliding(ctx, stride)), r.windows());
        }
    }

    @Test
    void llamaCppModeScoresSecondHalfOfChunksWithBos() {
        int[] tokens = randomTokens(70, 2);
        int ctx = 16, bos = 6;
        double nll = 0;
        long n = 0;
        for (int c = 0; c < tokens.length / ctx; c++) {
            int[] chunk = java.util.Arrays.copyOfRange(tokens, c * ctx, (c + 1) * ctx);
            chunk[0] = bos;
            for (int j = ctx / 2 + 1; j < ctx; j++) {
                nll += countingNll(chunk, j, chunk[j]);
                n++;
            }
        }
        Perplexity.Result r = Perplexity.evaluate(FakeModels.counting(V), tokens, id -> 1, bos,
                Perplexity.Options.llamaCpp(ctx), null);
        assertEquals(4 * (ctx - 1 - ctx / 2), r.tokens());
        assertEquals(n, r.tokens());
        assertEquals(nll, r.nll(), 1e-6 * n);
        assertEquals(4, r.windows());
        // without BOS replacement the chunk keeps its first token
        Perplexity.Result nb = Perplexity.evaluate(FakeModels.counting(V), tokens, id -> 1, -1,
                Perplexity.Options.llamaCpp(ctx), null);
        assertNotEquals(r.nll(), nb.nll());
    }

    @Test
    void rejectsBadOptions() {
        assertThrows(IllegalArgumentException.class, () -> Perplexity.Options.sliding(1, 1));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.Options.sliding(8, 8));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.Options.sliding(8, 0));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(FakeModels.counting(V), new int[]{1, 2, 9},
                id -> 1, -1, Perplexity.Options.sliding(8, 4), null));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.evaluate(FakeModels.counting(V), new int[]{1, 2, 3},
                id -> 1, -1, Perplexity.Options.llamaCpp(8), null));
    }

    /** On a real model: batched windows agree with token-by-token decoding (a separate path through the model). */
    @Test
    void realModelAgreesWithTokenByTokenDecoding() throws Exception {
        Path model = SharedData.require("conformance/models/stories260K-f32.gguf");
        String text = Files.readString(SharedData.require("corpora/tinyshakespeare.txt")).substring(0, 600);
        Tokenizer tok = Tokenizers.fromGGUF(model);
        try (ThreadPool pool = new ThreadPool(2); LanguageModel lm = Models.load(model, pool)) {
            int[] tokens = tok.encode(text, true, false);
            assertEquals(tok.bos(), tokens[0]);
            int ctx = 64, stride = 32;
            Perplexity.Result r = Perplexity.evaluate(lm, tok, text, Perplexity.Options.sliding(ctx, stride), null);
            double nll = 0;
            long bytes = 0;
            int vocab = lm.config().vocabSize();
            for (int b = 0, prevEnd = 0; prevEnd < tokens.length; b += stride) {
                int end = Math.min(b + ctx, tokens.length);
                ModelState st = lm.newState(ctx);
                for (int p = b; p < end - 1; p++) {
                    float[] logits = lm.forward(st, new int[]{tokens[p]}, false);
                    int t = p + 1;
                    if (t < Math.max(prevEnd, b + 1)) continue;
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int v = 0; v < vocab; v++) max = Math.max(max, logits[v]);
                    for (int v = 0; v < vocab; v++) sum += Math.exp(logits[v] - max);
                    nll += -(logits[tokens[t]] - max - Math.log(sum));
                    bytes += tok.tokenBytes(tokens[t]).length;
                }
                prevEnd = end;
            }
            assertEquals(tokens.length - 1, r.tokens());
            assertEquals(nll, r.nll(), 1e-3 * r.tokens());
            assertEquals(bytes, r.bytes());
            assertTrue(r.perplexity() > 1 && r.perplexity() < vocab, "ppl " + r.perplexity());
        }
    }
}
