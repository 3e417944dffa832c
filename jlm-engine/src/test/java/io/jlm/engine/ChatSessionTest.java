package io.jlm.engine;

import io.jlm.engine.Fakes.FakeTokenizer;
import io.jlm.engine.Fakes.ScriptedModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ChatSessionTest {

    private static FakeTokenizer chatTokenizer() {
        List<String> pieces = new ArrayList<>(List.of("<|im_start|>", "<|im_end|>", "user", "assistant", "system", "\n"));
        for (char c = ' '; c <= '~'; c++) pieces.add(String.valueOf(c));
        return new FakeTokenizer(pieces.toArray(String[]::new));
    }

    /** Sets script[pos ...] so that after evaluating {@code promptLen} tokens the model says {@code reply} then EOT. */
    private static void scriptReply(int[] script, FakeTokenizer tok, int promptLen, String reply) {
        int[] ids = tok.encode(reply);
        for (int i = 0; i < ids.length; i++) script[promptLen - 1 + i] = ids[i];
        script[promptLen - 1 + ids.length] = 2;
    }

    @Test
    void secondTurnEvaluatesOnlyTheNewTokens() {
        FakeTokenizer tok = chatTokenizer();
        int[] script = new int[400];
        Arrays.fill(script, 2);
        ScriptedModel model = new ScriptedModel(tok.vocabSize(), 2, script);
        ChatTemplate template = new ChatTemplate(ChatTemplate.CHATML, "", "");
        ChatSession chat = new ChatSession(new Session(model, tok, 400), template);
        Sampler greedy = new Sampler(SamplerConfig.greedy(), tok.vocabSize());

        chat.add(ChatMessage.system("Be brief."));
        String p1 = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
        int len1 = tok.encode(p1, true, true).length;
        scriptReply(script, tok, len1, "OK then");
        List<String> out = new ArrayList<>();
        GenerationResult r1 = chat.respond("Hi", GenerationOptions.maxTokens(50), greedy, out::add);
        assertEquals("OK then", r1.text());
        assertEquals("OK then", String.join("", out));
        assertEquals(StopReason.END_OF_GENERATION, r1.stopReason());
        assertEquals(0, chat.lastReusedTokens());
        assertEquals(len1, chat.lastEvaluatedTokens());
        assertEquals(List.of(len1), model.batchSizes.subList(0, 1));

        String p2 = p1 + "OK then<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n";
        int[] t2 = tok.encode(p2, true, true);
        int held = len1 + tok.encode("OK then").length; // the reply tokens were fed (the EOT was not)
        scriptReply(script, tok, t2.length, "Bye!");
        model.batchSizes.clear();
        GenerationResult r2 = chat.respond("Bye", GenerationOptions.maxTokens(50), greedy, null);
        assertEquals("Bye!", r2.text());
        assertEquals(held, chat.lastReusedTokens());
        assertEquals(t2.length - held, chat.lastEvaluatedTokens());
        assertEquals(t2.length - held, model.batchSizes.getFirst()); // one batched call over only the new tokens
        assertEquals(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("OK then"),
                ChatMessage.user("Bye"), ChatMessage.assistant("Bye!")), chat.messages());
        assertArrayEquals(Arrays.copyOf(t2, t2.length), Arrays.copyOf(chat.session().tokens(), t2.length));
    }

    @Test
    void editedHistoryRewindsToTheCommonPrefix() {
        FakeTokenizer tok = chatTokenizer();
        int[] script = new int[400];
        Arrays.fill(script, 2);
        ScriptedModel model = new ScriptedModel(tok.vocabSize(), 2, script);
        ChatSession chat = new ChatSession(new Session(model, tok, 400), new ChatTemplate(ChatTemplate.CHATML, "", ""));
        Sampler greedy = new Sampler(SamplerConfig.greedy(), tok.vocabSize());
        chat.respond("Hello", GenerationOptions.maxTokens(5), greedy, null);
        chat.clear();
        // a different first message: only BOS, "<|im_start|>", "user", "\n" are shared
        int[] t = tok.encode("<|im_start|>user\nYo<|im_end|>\n<|im_start|>assistant\n", true, true);
        chat.respond("Yo", GenerationOptions.maxTokens(5), greedy, null);
        assertEquals(4, chat.lastReusedTokens());
        assertEquals(t.length - 4, chat.lastEvaluatedTokens());
    }

    @Test
    void templateErrorLeavesTheHistoryUnchanged() {
        FakeTokenizer tok = chatTokenizer();
        ScriptedModel model = new ScriptedModel(tok.vocabSize(), 2, new int[0]);
        ChatSession chat = new ChatSession(new Session(model, tok, 100),
                new ChatTemplate("{{ raise_exception('no') }}", "", ""));
        assertThrows(ChatTemplateException.class, () -> chat.respond("x", GenerationOptions.maxTokens(1), new Sampler(SamplerConfig.greedy(), tok.vocabSize()), null));
        assertTrue(chat.messages().isEmpty());
    }
}
