package io.jlm.tokenizers;

/**
 * Code point classification as llama.cpp's {@code unicode_cpt_flags}: one general category group per code point
 * plus the Unicode White_Space property. Backed by {@link Character#getType(int)}.
 */
final class PreTokenizerUnicode {
    static final int UNDEFINED = 0x01;
    static final int NUMBER = 0x02;
    static final int LETTER = 0x04;
    static final int SEPARATOR = 0x08;
    static final int ACCENT_MARK = 0x10;
    static final int PUNCTUATION = 0x20;
    static final int SYMBOL = 0x40;
    static final int CONTROL = 0x80;
    /** Extra bit, not a category: Unicode White_Space. */
    static final int WHITESPACE = 0x100;

    private static final int TABLE_SIZE = 0x10000;
    private static final short[] BMP = new short[TABLE_SIZE];

    static {
        for (int cp = 0; cp < TABLE_SIZE; cp++) BMP[cp] = (short) compute(cp);
    }

    private PreTokenizerUnicode() {}

    /** Category bit | optional {@link #WHITESPACE} bit. Never 0 for a real code point. */
    static int flags(int cp) {
        return cp < TABLE_SIZE ? BMP[cp] : compute(cp);
    }

    static boolean isLetter(int f) { return (f & LETTER) != 0; }
    static boolean isNumber(int f) { return (f & NUMBER) != 0; }
    static boolean isWhitespace(int f) { return (f & WHITESPACE) != 0; }

    private static int compute(int cp) {
        int cat = switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK -> ACCENT_MARK;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> SEPARATOR;
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.SURROGATE -> CONTROL;
            case Character.DASH_PUNCTUATION, Character.START_PUNCTUATION, Character.END_PUNCTUATION,
                 Character.CONNECTOR_PUNCTUATION, Character.OTHER_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                 Character.FINAL_QUOTE_PUNCTUATION -> PUNCTUATION;
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL -> SYMBOL;
            default -> UNDEFINED;
        };
        return whiteSpace(cp) ? cat | WHITESPACE : cat;
    }

    /** The Unicode White_Space property (what Python/Rust regex {@code \s} match). */
    static boolean whiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /**
     * The single char llama.cpp's "collapsed" text uses for a code point: ASCII stays, other whitespace becomes
     * U+000B, letters/numbers/punctuation/marks/symbols become 0xD2/0xD1/0xD3/0xD4/0xD5, anything else 0xD0.
     */
    static char collapse(int cp) {
        if (cp < 128) return (char) cp;
        int f = flags(cp);
        if ((f & WHITESPACE) != 0) return 0x0B;
        return switch (f & 0xFF) {
            case NUMBER -> 0xD1;
            case LETTER -> 0xD2;
            case PUNCTUATION -> 0xD3;
            case ACCENT_MARK -> 0xD4;
            case SYMBOL -> 0xD5;
            default -> 0xD0;
        };
    }
}
