package io.jlm.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class JsonGrammarTest {
    static boolean accepts(String s) {
        return new JsonGrammar().feed(s.getBytes(StandardCharsets.UTF_8));
    }

    static boolean complete(String s) {
        JsonGrammar g = new JsonGrammar();
        return g.feed(s.getBytes(StandardCharsets.UTF_8)) && g.done();
    }

    @Test
    void completeObjectsAreAcceptedAndAgreeWithJackson() throws Exception {
        ObjectMapper m = new ObjectMapper();
        for (String s : List.of("{}", "{\"a\":1}", "{\"a\":[1,2.5,-3e+4,0.0E-1,true,false,null]}", "{ \"k\" : { \"n\" : \"x\\\"y\\u00e9\\n\" } }",
                "{\"a\":[],\"b\":{},\"c\":[[],[{}]]}", "{\"é\":\"ünïcode ✓\"}", "{\"a\":-0}")) {
            assertTrue(complete(s), s);
            assertTrue(m.readTree(s).isObject(), s);
        }
    }

    @Test
    void invalidTextIsRejectedAtTheFirstBadByte() {
        for (String s : List.of("[1]", "1", "\"x\"", "{a:1}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1,}", "{\"a\":tru}x", "{\"a\":1}}",
                "{\"a\":\"\\x\"}", "{\"a\":1]", "{\"a\":-}", "{\"a\":1.}", "{\"a\":\"line\nbreak\"}", " {}", "{}  ", "{\"a\":1e}")) {
            JsonGrammar g = new JsonGrammar();
            boolean ok = g.feed(s.getBytes(StandardCharsets.UTF_8));
            assertFalse(ok && g.done(), s);
        }
    }

    @Test
    void everyPrefixOfAValidDocumentIsAccepted() {
        String s = "{\"name\": \"Lily\", \"age\": 3.5e1, \"tags\": [\"a\", \"b\"], \"ok\": true, \"x\": null}";
        for (int i = 0; i <= s.length(); i++) assertTrue(accepts(s.substring(0, i)), s.substring(0, i));
        assertTrue(complete(s));
        assertFalse(complete(s.substring(0, s.length() - 1)));
    }

    @Test
    void whitespaceRunsAreBounded() {
        assertTrue(accepts("{  \"a\":1}"));
        assertFalse(accepts("{   \"a\":1}"));
        assertTrue(accepts("{\"a\":\"     many spaces in a string\"}"));
    }
}
