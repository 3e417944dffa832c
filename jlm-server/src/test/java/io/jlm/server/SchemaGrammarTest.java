package io.jlm.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class SchemaGrammarTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String SCHEMA = """
            {"type":"object","properties":{
              "name":{"type":"string"},
              "age":{"type":"integer"},
              "score":{"type":"number"},
              "pet":{"enum":["cat","dog","catfish"]},
              "ok":{"type":"boolean"},
              "tags":{"type":"array","items":{"type":"string"}},
              "pos":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}}},
              "none":{"type":"null"},
              "v":{"const":2}}}""";

    static SchemaGrammar grammar() throws Exception { return SchemaGrammar.compile(JSON.readTree(SCHEMA)); }

    static boolean complete(String s) throws Exception {
        SchemaGrammar g = grammar();
        return g.feed(s.getBytes(StandardCharsets.UTF_8)) && g.done();
    }

    @Test
    void matchingDocumentsAreAcceptedAndEveryPrefixToo() throws Exception {
        for (String doc : new String[]{
                "{\"name\":\"Lily \\\"L\\\" \\u00e9\",\"age\":-12,\"score\":3.5e-2,\"pet\":\"catfish\",\"ok\":false,\"tags\":[],\"pos\":{\"x\":0,\"y\":-0.5},\"none\":null,\"v\":2}",
                "{\"name\":\"\",\"age\":0,\"score\":10,\"pet\":\"cat\",\"ok\":true,\"tags\":[\"a\",\"b,c\"],\"pos\":{\"x\":1E5,\"y\":2},\"none\":null,\"v\":2}"}) {
            assertTrue(JSON.readTree(doc).isObject());
            assertTrue(complete(doc), doc);
            for (int i = 0; i < doc.length(); i++) {
                SchemaGrammar g = grammar();
                assertTrue(g.feed(doc.substring(0, i).getBytes(StandardCharsets.UTF_8)), doc.substring(0, i));
                assertFalse(g.done());
            }
        }
    }

    @Test
    void documentsOutsideTheSchemaAreRejected() throws Exception {
        String good = "{\"name\":\"a\",\"age\":1,\"score\":1,\"pet\":\"dog\",\"ok\":true,\"tags\":[],\"pos\":{\"x\":1,\"y\":1},\"none\":null,\"v\":2}";
        assertTrue(complete(good));
        for (String bad : new String[]{
                good.replace("\"age\":1", "\"age\":1.5"),          // integer
                good.replace("\"pet\":\"dog\"", "\"pet\":\"cow\""),  // enum
                good.replace("\"pet\":\"dog\"", "\"pet\":\"ca\""),
                good.replace("\"ok\":true", "\"ok\":1"),             // boolean
                good.replace("\"tags\":[]", "\"tags\":[1]"),         // item type
                good.replace("\"name\":\"a\",\"age\"", "\"age\""),   // property order / missing
                good.replace("\"v\":2", "\"v\":3"),                  // const
                good.replace("{\"name\"", "{ \"name\""),             // compact only
                good + " "}) {
            assertFalse(complete(bad), bad);
        }
    }

    @Test
    void unsupportedSchemasAreRefusedWithThePath() {
        for (String[] c : new String[][]{
                {"{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"}]}}}", "schema.properties.a"},
                {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\"}}}", "schema.properties.a"},
                {"{\"type\":\"string\"}", "top level"},
                {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}}}", "schema.properties.a.type"}}) {
            var e = assertThrows(IllegalArgumentException.class, () -> SchemaGrammar.compile(JSON.readTree(c[0])));
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
    }
}
