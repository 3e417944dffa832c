package io.jlm.engine;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.tokenizers.Tokenizer;
import jinjava.javax.el.CompositeELResolver;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Renders a conversation with a model's Jinja2 chat template ({@code tokenizer.chat_template}) the way Hugging Face
 * transformers does: {@code trim_blocks} and {@code lstrip_blocks} on, one trailing newline of the template dropped,
 * variables {@code messages} (role/content), {@code add_generation_prompt}, {@code bos_token}, {@code eos_token},
 * {@code tools} (none), functions {@code raise_exception(msg)} and {@code strftime_now(fmt)}, and the Python string /
 * dict methods templates use ({@code strip}, {@code startswith}, {@code split}, {@code items}, ...).
 */
public final class ChatTemplate {

    /** ChatML, used when a model has no template of its own. */
    public static final String CHATML = """
            {%- for message in messages -%}
            {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
            {{- '<|im_start|>assistant\\n' -}}
            {%- endif -%}""";

    private static final Jinjava JINJAVA = createJinjava();

    private final String source;
    private final String prepared;
    private final String bosToken;
    private final String eosToken;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        String s = source;
        if (s.endsWith("\n")) s = s.substring(0, s.length() - 1); // jinja2: keep_trailing_newline=False
        this.source = s;
        this.prepared = prepare(s);
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
    }

    /** The model's template ({@code tokenizer.chat_template}) or {@link #CHATML}; BOS/EOS texts from the tokenizer. */
    public static ChatTemplate fromGGUF(GGUFMetadata metadata, Tokenizer tokenizer) {
        String src = metadata.getString("tokenizer.chat_template", null);
        return new ChatTemplate(src == null || src.isBlank() ? CHATML : src,
                tokenizer.bos() >= 0 ? tokenizer.tokenText(tokenizer.bos()) : "",
                tokenizer.eos() >= 0 ? tokenizer.tokenText(tokenizer.eos()) : "");
    }

    public String source() { return source; }

    public String bosToken() { return bosToken; }

    public String eosToken() { return eosToken; }

    /** Tokenizes a rendered prompt: BOS per the vocabulary's rule unless the template already wrote it. */
    public int[] tokenize(io.jlm.tokenizers.Tokenizer tok, String rendered) {
        boolean templateHasBos = !bosToken.isEmpty() && rendered.startsWith(bosToken);
        return tok.encode(rendered, !templateHasBos, true);
    }

    /**
     * Renders the conversation.
     *
     * @param addGenerationPrompt append the header that opens the assistant's turn
     * @throws ChatTemplateException if the template is invalid or raises an exception
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        ctx.put("tools", null);
        RenderResult r;
        try {
            r = JINJAVA.renderForResult(prepared, ctx);
        } catch (RuntimeException e) {
            throw new ChatTemplateException("chat template: " + rootMessage(e));
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("chat template: " + cleanMessage(e) + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : ""));
            }
        }
        return r.getOutput();
    }

    private static final java.util.regex.Pattern TRIM_BEFORE_EXPR = java.util.regex.Pattern.compile("\\s*\\{\\{-");
    private static final java.util.regex.Pattern TRIM_AFTER_EXPR = java.util.regex.Pattern.compile("-}}\\s*");

    /**
     * Applies Jinja2's whitespace control of expression tags ({@code {{-} and {@code -}}}), which Jinjava honours
     * only for statement tags: the whitespace next to the dash is removed from the source.
     */
    static String prepare(String template) {
        String s = TRIM_BEFORE_EXPR.matcher(template).replaceAll("{{");
        return TRIM_AFTER_EXPR.matcher(s).replaceAll("}}");
    }

    private static String cleanMessage(TemplateError e) {
        Exception ex = e.getException();
        if (ex != null) {
            Throwable t = ex;
            while (t != null) {
                if (t instanceof ChatTemplateException cte) return cte.getMessage();
                t = t.getCause();
            }
        }
        String m = e.getMessage();
        int at = m == null ? -1 : m.indexOf("raise_exception: ");
        return at >= 0 ? m.substring(at) : m;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    // ---------------------------------------------------------------- template functions (public for Jinjava)

    /** {@code raise_exception(msg)}: aborts rendering with the template's message. */
    public static Object raiseException(String message) {
        throw new ChatTemplateException("raise_exception: " + message);
    }

    /** {@code strftime_now(fmt)}: the current local time formatted with Python strftime directives. */
    public static String strftimeNow(String format) {
        return strftime(ZonedDateTime.now(), format);
    }

    static String strftime(ZonedDateTime t, String f) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < f.length(); i++) {
            char c = f.charAt(i);
            if (c != '%' || i + 1 == f.length()) { b.append(c); continue; }
            char d = f.charAt(++i);
            switch (d) {
                case 'd' -> b.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> b.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> b.append(t.getYear());
                case 'y' -> b.append(String.format("%02d", t.getYear() % 100));
                case 'H' -> b.append(String.format("%02d", t.getHour()));
                case 'I' -> b.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> b.append(String.format("%02d", t.getMinute()));
                case 'S' -> b.append(String.format("%02d", t.getSecond()));
                case 'p' -> b.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> b.append(String.format("%03d", t.getDayOfYear()));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case '%' -> b.append('%');
                default -> b.append('%').append(d);
            }
        }
        return b.toString();
    }

    private static Jinjava createJinjava() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withFailOnUnknownTokens(false)
                .build();
        Jinjava j = new Jinjava(config);
        j.registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        j.registerFilter(new PythonJson());
        j.registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        return j;
    }
}
