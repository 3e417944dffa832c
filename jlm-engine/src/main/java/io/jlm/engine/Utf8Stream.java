package io.jlm.engine;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of byte chunks (token pieces) into text, holding back an incomplete UTF-8 sequence at the end of
 * a chunk until the bytes that complete it arrive. Invalid bytes become U+FFFD.
 */
final class Utf8Stream {
    private byte[] buf = new byte[64];
    private int len;

    /** Appends bytes and returns the text that is complete so far (possibly empty). */
    String feed(byte[] bytes) {
        if (bytes.length == 0) return "";
        if (len + bytes.length > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + bytes.length));
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        int cut = completePrefix(buf, len);
        if (cut == 0) return "";
        String s = new String(buf, 0, cut, StandardCharsets.UTF_8);
        System.arraycopy(buf, cut, buf, 0, len - cut);
        len -= cut;
        return s;
    }

    /** Returns whatever is held back (incomplete sequences become U+FFFD) and empties the buffer. */
    String flush() {
        String s = new String(buf, 0, len, StandardCharsets.UTF_8);
        len = 0;
        return s;
    }

    /** Length of the longest prefix that does not end inside a (so far valid-looking) multi-byte sequence. */
    static int completePrefix(byte[] b, int len) {
        // find the last non-continuation byte among the last 4
        for (int i = len - 1; i >= Math.max(0, len - 4); i--) {
            int c = b[i] & 0xFF;
            if ((c & 0xC0) == 0x80) continue; // continuation byte
            int need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return i + need > len ? i : len;
        }
        return len;
    }
}
