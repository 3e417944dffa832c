package io.jlm.engine;

import io.jlm.engine.Fakes.FakeTokenizer;
import io.jlm.engine.Fakes.ScriptedModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SessionTest {

    final FakeTokenizer tok = new FakeTokenizer("Hello", " world", "!", " ST", "OP", " and", " more", "\n", "S", "T");

    private int[] ids(String... pieces) {
        int[] r = new int[pieces.length];
        for (int i = 0; i < r.length; i++) r[i] = tok.id(pieces[i]);
        return r;
    }

    /** A script where positions 0..promptLen-1 produce the given continuation from position promptLen-1 on. */
    private static int[] script(int promptLen, int... continuation) {
        int[] s = new int[promptLen - 1 + continuation.length];
        System.arraycopy(continuation, 0, s, promptLen - 1, continuation.length);
        return s;
    }

    @Test
    void stopsOnEndOfGenerationAndPrefillsInOneBatch() {
        int[] prompt = {0, tok.id("Hello")};
        int[] cont = ids(" world", "!", " and");
        int[] full = new int[cont.length + 1];
        System.arraycopy(cont, 0, full, 0, cont.length);
        full[cont.length] = 2; // <|eot|>
        ScriptedModel m = new ScriptedModel(tok.vocabSize(), tok.id("!"), script(prompt.length, full));
        Session s = new Session(m, tok, 64);
        List<String> pieces = new ArrayList<>();
        GenerationResult r = s.generate(prompt, GenerationOptions.maxTokens(100), new Sampler(SamplerConfig.greedy(), tok.vocabSize()), pieces::add);
        assertEquals(StopReason.END_OF_GENERATION, r.stopReason());
        assertEquals(" world! and", r.text());
        assertEquals(List.of(" world", "!", " and"), pieces);
        assertArrayEquals(full, r.tokens());
        assertEquals(2, m.batchSizes.getFirst()); // the prompt in one forward call
        assertEquals(List.of(2, 1, 1, 1), m.batchSizes); // EOT is not evaluated
        assertEquals(2, r.stats().promptTokens());
        assertEquals(4, r.stats().generatedTokens());
        assertArrayEquals(new int[]{0, tok.id("Hello"), cont[0], cont[1], cont[2]}, s.tokens());
    }

    @Test
    void stopsAtMaxTokens() {
        ScriptedModel m = new ScriptedModel(tok.vocabSize(), tok.id(" more"), new int[0]);
        Session s = new Session(m, tok, 64);
        GenerationResult r = s.generate(new int[]{0}, GenerationOptions.maxTokens(5), new Sampler(SamplerConfig.greedy(), tok.vocabSize()), null);
        assertEquals(StopReason.MAX_TOKENS, r.stopReason());
        assertEquals(" more".repeat(5), r.text());
        assertEquals(5, r.tokens().length);
        assertEquals(5, s.position()); // prompt + 4 fed tokens (the 5th is sampled, not evaluated)
        GenerationResult zero = new Session(m, tok, 64).generate(new int[]{0}, GenerationOptions.maxTokens(0), new Sampler(SamplerConfig.greedy(), tok.vocabSize()), null);
        assertEquals(0, zero.tokens().length);
        assertEquals(StopReason.MAX_TOKENS, zero.stopReason());
    }

    @Test
    void stopsWhenTheContextIsFull() {
        ScriptedModel m = new ScriptedModel(tok.vocabSize(), tok.id("!"), new int[0]);
        Session s = new Session(m, tok, 6);
        GenerationResult r = s.generate(new int[]{0, tok.id("Hello")}, GenerationOptions.maxTokens(-1), new Sampler(SamplerConfig.greedy(), tok.vocabSize()), null);
        assertEquals(StopReason.CONTEXT_FULL, r.stopReason());
        assertEquals(6, s.position());
        assertEquals("!!!!!", r.text()); // 4 fed + 1 sampled when the state was full
        assertThrows(IllegalArgumentException.class, () -> new Session(m, tok, 2).generate(new int[]{0, 3, 4}, GenerationOptions.maxTokens(1), new Sampler(SamplerConfig.greedy(), tok.vocabSize()), null));
    }

    @Test
    void stopStringSpanningTokensIsNotEmitted() {
        // " ST" + "OP" makes " STOP"; stop string "STOP" starts inside a token
        int[] cont = ids(" world", " ST", "OP", " more");
        ScriptedModel m = new ScriptedModel(tok.vocabSize(), tok.id(" more"), script(1, cont));
        List<String> pieces = new ArrayList<>();
        GenerationResult r = new Session(m, tok, 64).generate(new int[]{0}, new GenerationOptions(50, List.of("STOP")),
                new Sampler(SamplerConfig.greedy(), tok.vocabSize()), pieces::add);
        assertEquals(StopReason.STOP_STRING, r.stopReason());
        assertEquals(" world ", r.text());
        assertEquals(" world ", String.join("", pieces));
        for (String p : pieces) assertFalse(p.contains("S"));
    }

    @Test
    void partialStopStringIsReleasedWhenItDoesNotComplete() {
        // "S" "T" "!" : held back while it could become "STOP", then released
        int[] cont = ids("S", "T", "!", "S");
        int[] full = {cont[0], cont[1], cont[2], cont[3], 1};
        ScriptedModel m = new ScriptedModel(tok.vocabSize(), 1, script(1, full));
        List<String> pieces = new ArrayList<>();
        GenerationResult r = new Session(m, tok, 64).generate(new int[]{0}, new GenerationOptions(50, List.of("STOP", "\n\n")),
                new Sampler(SamplerConfig.greedy(), tok.vocabSize()), pieces::add);
        assertEquals(StopReason.END_OF_GENERATION, r.stopReason());
        assertEquals("ST!S", r.text());
        assertEquals(List.of("ST!", "S"), pieces); // "S", "ST" held back; trailing "S" flushed at the end
    }

    @Test
    void earliestOfSeveralStopStringsWins() {
        int[] cont = ids("Hello", "\n", " world", "!");
        ScriptedModel m = new ScriptedModel(tok.vocabSize(), 1, script(1, cont));
        GenerationResult r = new Session(m, tok, 64).generate(new int[]{0}, new GenerationOptions(50, List.of("world", "\n")),
                new Sampler(SamplerConfig.greedy(), tok.vocabSize()), null);
        assertEquals("Hello", r.text());
        assertEquals(StopReason.STOP_STRING, r.stopReason());
    }

    @Test
    void utf8SplitAcrossTokensIsJoined() {
        FakeTokenizer t = new FakeTokenizer("a");
        byte[] euro = "€".getBytes(java.nio.charset.StandardCharsets.UTF_8); // 3 bytes
        int b0 = t.addBytes(euro[0]), b1 = t.addBytes(euro[1]), b2 = t.addBytes(euro[2]);
        int a = t.id("a");
        ScriptedModel m = new ScriptedModel(t.vocabSize(), 1, new int[]{b0, b1, b2, a, b0, 1});
        List<String> pieces = new ArrayList<>();
        GenerationResult r = new Session(m, t, 64).generate(new int[]{0}, GenerationOptions.maxTokens(50),
                new Sampler(SamplerConfig.greedy(), t.vocabSize()), pieces::add);
        assertEquals(List.of("€", "a", "\uFFFD"), pieces); // a dangling lead byte is flushed as U+FFFD
        assertEquals("€a\uFFFD", r.text());
    }

    @Test
    void emptyPromptContinuesFromTheHeldTokens() {
        int[] cont = ids(" world", "!", "!");
        ScriptedModel m = new ScriptedModel(tok.vocabSize(), 1, script(2, cont));
        Session s = new Session(m, tok, 64);
        s.ingest(new int[]{0, tok.id("Hello")});
        GenerationResult r = s.generate(new int[0], GenerationOptions.maxTokens(2), new Sampler(SamplerConfig.greedy(), tok.vocabSize()), null);
        assertEquals(" world!", r.text());
        assertEquals(1, s.commonPrefix(new int[]{0, 5, 5}));
        s.rewind(1);
        assertEquals(1, s.position());
    }
}
