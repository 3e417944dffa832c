package io.jlm.tokenizers;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of token ids into text piece by piece, for printing tokens as they are generated. A token may end in
 * the middle of a multi-byte UTF-8 character (byte-fallback tokens, byte-level BPE); those bytes are held back until
 * the character is complete. Invalid UTF-8 is never held: it comes out as U+FFFD. Control tokens produce nothing.
 * Not thread-safe; one instance per output stream.
 */
public final class StreamingDecoder {

    private final Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int n;

    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds one token; returns the text that is now complete (possibly empty). */
    public String accept(int id) {
        return accept(tokenizer.tokenBytes(id));
    }

    /** Adds raw bytes; returns the text that is now complete (possibly empty). */
    public String accept(byte[] bytes) {
        if (n + bytes.length > pending.length) pending = Arrays.copyOf(pending, Math.max(pending.length * 2, n + bytes.length));
        System.arraycopy(bytes, 0, pending, n, bytes.length);
        n += bytes.length;
        int complete = completeLength(pending, n);
        if (complete == 0) return "";
        String s = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, n - complete);
        n -= complete;
        return s;
    }

    /** Returns whatever is still held (an incomplete character comes out as U+FFFD) and clears the state. */
    public String flush() {
        String s = new String(pending, 0, n, StandardCharsets.UTF_8);
        n = 0;
        return s;
    }

    /** Discards held bytes. */
    public void reset() { n = 0; }

    /** Number of bytes held back. */
    public int pendingBytes() { return n; }

    /**
     * Length of the prefix of b[0..len) that can be decoded now: everything except a trailing sequence that is a
     * valid but incomplete start of a UTF-8 character.
     */
    static int completeLength(byte[] b, int len) {
        // find the start of the last character: step back over at most 3 continuation bytes
        int i = len - 1;
        int stop = Math.max(0, len - 4);
        while (i >= stop && (b[i] & 0xC0) == 0x80) i--;
        if (i < stop) return len; // only continuation bytes at the end: invalid, emit them
        int lead = b[i] & 0xFF;
        int need;
        if (lead < 0x80) return len;
        else if (lead >= 0xC2 && lead <= 0xDF) need = 2;
        else if (lead >= 0xE0 && lead <= 0xEF) need = 3;
        else if (lead >= 0xF0 && lead <= 0xF4) need = 4;
        else return len; // invalid lead byte
        int have = len - i;
        if (have >= need) return len; // complete (or over-long run of continuations: invalid, emit)
        if (have >= 2) {
            // the second byte has a narrower range after some lead bytes
            int second = b[i + 1] & 0xFF;
            boolean ok = switch (lead) {
                case 0xE0 -> second >= 0xA0;
                case 0xED -> second <= 0x9F;
                case 0xF0 -> second >= 0x90;
                case 0xF4 -> second <= 0x8F;
                default -> true;
            };
            if (!ok) return len;
        }
        return i;
    }
}
