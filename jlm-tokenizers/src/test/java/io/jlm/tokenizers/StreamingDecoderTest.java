package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class StreamingDecoderTest {

    private static byte[] b(int... v) {
        byte[] r = new byte[v.length];
        for (int i = 0; i < v.length; i++) r[i] = (byte) v[i];
        return r;
    }

    @Test
    void holdsIncompleteCharacters() {
        StreamingDecoder d = new StreamingDecoder(null);
        // 你 = E4 BD A0, 🦙 = F0 9F A6 99, é = C3 A9
        assertEquals("", d.accept(b(0xE4)));
        assertEquals(1, d.pendingBytes());
        assertEquals("", d.accept(b(0xBD)));
        assertEquals("你", d.accept(b(0xA0)));
        assertEquals(0, d.pendingBytes());
        assertEquals("a", d.accept(b('a', 0xF0, 0x9F)));
        assertEquals("", d.accept(b(0xA6)));
        assertEquals("🦙é", d.accept(b(0x99, 0xC3, 0xA9)));
        assertEquals("x", d.accept(b('x', 0xC3)));
        assertEquals("\uFFFD", d.flush()); // cut off in the middle of é
        assertEquals(0, d.pendingBytes());
    }

    @Test
    void invalidBytesAreNotHeld() {
        StreamingDecoder d = new StreamingDecoder(null);
        assertEquals("\uFFFD", d.accept(b(0xFF)));
        assertEquals("\uFFFD", d.accept(b(0x80)));           // stray continuation byte
        String s = d.accept(b(0xE0, 0x80));                   // E0 must be followed by A0..BF
        assertFalse(s.isEmpty());
        assertTrue(s.chars().allMatch(ch -> ch == 0xFFFD), s);
        assertEquals(0, d.pendingBytes());
        assertEquals("\uFFFDa", d.accept(b(0xC3, 'a')));      // lead byte followed by ASCII
    }

    @Test
    void streamsLlamaByteFallbackTokens() throws IOException {
        Tokenizer t;
        try (GGUFFile f = GGUFFile.open(SharedData.require("conformance/tokenizers/ggml-vocab-llama-spm.gguf"))) {
            t = Tokenizers.fromGGUF(f.metadata());
        }
        // llama.cpp test vector: " this is 🦙.cpp" -> 29871 445 338 29871 243 162 169 156 29889 8223 (🦙 as 4 byte tokens)
        int[] ids = {1, 29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223};
        StreamingDecoder d = new StreamingDecoder(t);
        List<String> parts = new ArrayList<>();
        for (int id : ids) parts.add(d.accept(id));
        assertEquals(List.of("", " ", " this", " is", " ", "", "", "", "🦙", ".", "cpp"), parts);
        assertEquals("", d.flush());
        // whole-sequence decode drops the space prefix of the first text token
        assertEquals("  this is 🦙.cpp".substring(1), t.decode(ids));
    }
}
