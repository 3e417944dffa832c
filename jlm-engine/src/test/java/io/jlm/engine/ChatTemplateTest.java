package io.jlm.engine;

import org.junit.jupiter.api.Test;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Real chat templates (as published with the models) rendered for the same conversation; expected strings by hand. */
class ChatTemplateTest {

    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.user("Hello!"),
            ChatMessage.assistant("Hi there."),
            ChatMessage.user("How are you?"));

    static final List<ChatMessage> WITH_SYSTEM = List.of(
            ChatMessage.system("You are helpful."),
            ChatMessage.user("Hello!"),
            ChatMessage.assistant("Hi there."));

    static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    // Qwen2-Instruct (ChatML with a default system prompt); newlines inside the string literals are real newlines,
    // as they are after JSON decoding of tokenizer_config.json
    static final String QWEN2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    static final String PHI3 = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";

    static final String GEMMA2 = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

    static final String MISTRAL = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    private static String render(String template, String bos, String eos, List<ChatMessage> msgs, boolean gen) {
        return new ChatTemplate(template, bos, eos).render(msgs, gen);
    }

    @Test
    void llama2() {
        assertEquals("<s>[INST] Hello! [/INST] Hi there. </s><s>[INST] How are you? [/INST]",
                render(LLAMA2, "<s>", "</s>", CONVERSATION, true));
        assertEquals("<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHello! [/INST] Hi there. </s>",
                render(LLAMA2, "<s>", "</s>", WITH_SYSTEM, false));
    }

    @Test
    void llama3() {
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                render(LLAMA3, "<|begin_of_text|>", "<|end_of_text|>", CONVERSATION, true));
        // message content is trimmed by the template ("|trim" binds to the content only)
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>",
                render(LLAMA3, "<|begin_of_text|>", "<|end_of_text|>", List.of(ChatMessage.system("  You are helpful.\n")), false));
    }

    @Test
    void qwen2ChatML() {
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHello!<|im_end|>\n"
                        + "<|im_start|>assistant\nHi there.<|im_end|>\n"
                        + "<|im_start|>user\nHow are you?<|im_end|>\n"
                        + "<|im_start|>assistant\n",
                render(QWEN2, "", "<|im_end|>", CONVERSATION, true));
        assertEquals("<|im_start|>system\nYou are helpful.<|im_end|>\n"
                        + "<|im_start|>user\nHello!<|im_end|>\n"
                        + "<|im_start|>assistant\nHi there.<|im_end|>\n",
                render(QWEN2, "", "<|im_end|>", WITH_SYSTEM, false));
    }

    @Test
    void phi3() {
        assertEquals("<|user|>\nHello!<|end|>\n<|assistant|>\nHi there.<|end|>\n<|user|>\nHow are you?<|end|>\n<|assistant|>\n",
                render(PHI3, "<s>", "<|endoftext|>", CONVERSATION, true));
        assertEquals("<|system|>\nYou are helpful.<|end|>\n<|user|>\nHello!<|end|>\n<|assistant|>\nHi there.<|end|>\n<|endoftext|>",
                render(PHI3, "<s>", "<|endoftext|>", WITH_SYSTEM, false));
    }

    @Test
    void gemma2() {
        assertEquals("<bos><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nHi there.<end_of_turn>\n"
                        + "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n",
                render(GEMMA2, "<bos>", "<eos>", CONVERSATION, true));
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> render(GEMMA2, "<bos>", "<eos>", WITH_SYSTEM, true));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
    }

    @Test
    void mistral() {
        assertEquals("<s>[INST] Hello! [/INST]Hi there.</s>[INST] How are you? [/INST]",
                render(MISTRAL, "<s>", "</s>", CONVERSATION, true));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> render(MISTRAL, "<s>", "</s>",
                List.of(ChatMessage.user("a"), ChatMessage.user("b")), true));
        assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
    }

    @Test
    void chatmlFallback() {
        assertEquals("<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nHi there.<|im_end|>\n"
                        + "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n",
                render(ChatTemplate.CHATML, "", "", CONVERSATION, true));
        assertEquals("<|im_start|>user\nHello!<|im_end|>\n", render(ChatTemplate.CHATML, "", "", CONVERSATION.subList(0, 1), false));
    }

    /** The Jinja2 constructs modern templates rely on, one at a time. */
    @Test
    void jinjaConstructs() {
        List<ChatMessage> m = WITH_SYSTEM;
        assertEquals("0TF|1FF|2FT|", render("{% for message in messages %}{{ loop.index0 }}{{ 'T' if loop.first else 'F' }}{{ 'T' if loop.last else 'F' }}|{% endfor %}", "", "", m, false));
        assertEquals("2:Hello!", render("{% set ns = namespace(n=0, last='') %}{% for message in messages %}{% if message.role != 'system' %}{% set ns.n = ns.n + 1 %}{% endif %}{% if message.role == 'user' %}{% set ns.last = message.content %}{% endif %}{% endfor %}{{ ns.n }}:{{ ns.last }}", "", "", m, false));
        assertEquals("system", render("{{ messages[0]['role'] }}", "", "", m, false));
        assertEquals("user,assistant,", render("{% for message in messages[1:] %}{{ message['role'] }},{% endfor %}", "", "", m, false));
        assertEquals("[x y]", render("[{{ messages[0]['content'] | trim }}]", "", "", List.of(ChatMessage.user("  x y \n")), false));
        assertEquals("[x y]|[x y \n]|[  x y]", render("[{{ messages[0].content.strip() }}]|[{{ messages[0].content.lstrip() }}]|[{{ messages[0].content.rstrip() }}]", "", "", List.of(ChatMessage.user("  x y \n")), false));
        assertEquals("\"a \\\"quoted\\\" text\"", render("{{ messages[0]['content'] | tojson }}", "", "", List.of(ChatMessage.user("a \"quoted\" text")), false));
        assertEquals("yes-no", render("{{ 'yes' if messages is defined else 'no' }}-{{ 'yes' if foo is defined else 'no' }}", "", "", m, false));
        assertEquals("system: You are helpful.!", render("{{ messages[0].role ~ ': ' ~ messages[0].content ~ '!' }}", "", "", m, false));
        assertEquals("a|b", render("a  {%- if true -%}  |  {%- endif -%}  b", "", "", m, false));
        assertEquals("a| b|c", render("a \n {{- '|' }} b {{- '|' -}} \n c", "", "", m, false));
        assertEquals("True-False-True", render("{{ 'True' if messages[1].content.startswith('Hel') else 'False' }}-{{ 'True' if messages[1].content.startswith('x') else 'False' }}-{{ 'True' if messages[2].content.endswith('.') else 'False' }}", "", "", m, false));
        assertEquals("HI THERE.|hi there.|[\"Hi\", \"there.\"]", render("{{ messages[2].content.upper() }}|{{ messages[2].content.lower() }}|{{ messages[2].content.split(' ') | tojson }}", "", "", m, false));
        assertEquals("role=user;content=Hello!;", render("{% for k, v in messages[1].items() %}{{ k }}={{ v }};{% endfor %}", "", "", m, false));
        // trim_blocks / lstrip_blocks as in transformers: block lines leave no whitespace behind
        assertEquals("user\nassistant\n", render("{% for message in messages[1:] %}\n    {% if true %}\n{{ message.role }}\n    {% endif %}\n{% endfor %}\n", "", "", m, false));
        // raise_exception carries its message
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> render("{{ raise_exception('nope: ' ~ messages|length) }}", "", "", m, false));
        assertTrue(e.getMessage().contains("nope: 3"), e.getMessage());
    }

    @Test
    void tojsonIsPythonJsonDumps() {
        assertEquals("{\"role\": \"user\", \"content\": \"caf\u00e9 \\\"q\\\"\\n\"}",
                render("{{ messages[0] | tojson }}", "", "", List.of(ChatMessage.user("caf\u00e9 \"q\"\n")), false));
        assertEquals("[1, 2.5, true, null]", render("{{ [1, 2.5, true, none] | tojson }}", "", "", List.of(), false));
        assertEquals("{\n  \"a\": [\n    1,\n    2\n  ]\n}", render("{{ {'a': [1, 2]} | tojson(indent=2) }}", "", "", List.of(), false));
    }

    /** A Llama 3.1 style template: namespace-free system extraction, tools check, strftime-free date default. */
    @Test
    void llama31Style() {
        String t = """
                {{- bos_token }}
                {%- if not date_string is defined %}
                    {%- set date_string = "26 Jul 2024" %}
                {%- endif %}
                {%- if messages[0]['role'] == 'system' %}
                    {%- set system_message = messages[0]['content']|trim %}
                    {%- set messages = messages[1:] %}
                {%- else %}
                    {%- set system_message = "" %}
                {%- endif %}
                {{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
                {%- if tools is not none %}
                    {{- "Environment: ipython\\n" }}
                {%- endif %}
                {{- "Today Date: " + date_string + "\\n\\n" }}
                {{- system_message }}
                {{- "<|eot_id|>" }}
                {%- for message in messages %}
                    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
                {%- endfor %}
                {%- if add_generation_prompt %}
                    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
                {%- endif %}
                """;
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nToday Date: 26 Jul 2024\n\nYou are helpful.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there.<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                render(t, "<|begin_of_text|>", "<|eot_id|>", WITH_SYSTEM, true));
    }

    @Test
    void strftime() {
        ZonedDateTime t = ZonedDateTime.of(2024, 7, 26, 14, 5, 9, 0, ZoneOffset.UTC);
        assertEquals("26 Jul 2024", ChatTemplate.strftime(t, "%d %b %Y"));
        assertEquals("Friday, July 26 2024 02:05:09 PM 100%", ChatTemplate.strftime(t, "%A, %B %d %Y %I:%M:%S %p 100%%"));
        String today = ChatTemplate.strftime(ZonedDateTime.now(), "%Y");
        assertTrue(render("{{ strftime_now('%Y') }}", "", "", List.of(), false).equals(today));
    }
}
