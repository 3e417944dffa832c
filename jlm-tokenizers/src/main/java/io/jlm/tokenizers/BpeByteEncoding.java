package io.jlm.tokenizers;

/**
 * GPT-2's reversible byte-to-character mapping: printable Latin-1 bytes map to themselves, the other 68 bytes to
 * U+0100 upwards in byte order, so every byte string becomes a printable string.
 */
public final class BpeByteEncoding {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        boolean[] printable = new boolean[256];
        for (int b = 0x21; b <= 0x7E; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) {
            char c = printable[b] ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private BpeByteEncoding() {}

    /** The character standing for a byte (0..255). */
    public static char byteToChar(int b) { return BYTE_TO_CHAR[b & 0xFF]; }

    /** The byte a character stands for, or -1 if the character is not one of the 256 mapping characters. */
    public static int charToByte(int c) { return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1; }

    /** Maps bytes to their characters. */
    public static String encode(byte[] bytes, int off, int len) {
        char[] c = new char[len];
        for (int i = 0; i < len; i++) c[i] = BYTE_TO_CHAR[bytes[off + i] & 0xFF];
        return new String(c);
    }
}
