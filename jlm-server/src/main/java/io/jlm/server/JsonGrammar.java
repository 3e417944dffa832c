package io.jlm.server;

import java.util.Arrays;

/**
 * An incremental JSON recognizer over bytes (RFC 8259), used to constrain sampling: a token is allowed when
 * its bytes keep the text a prefix of a valid JSON document. The state is a few ints plus the container stack,
 * so {@link #copyFrom} is cheap enough to try every token of the vocabulary at each step.
 *
 * <p>The document must be a single object (OpenAI's {@code json_object} mode). At most
 * {@link #MAX_WHITESPACE} whitespace bytes may follow each other outside strings, so a constrained generation
 * cannot idle forever on spaces and newlines.
 */
final class JsonGrammar implements ByteGrammar {
    static final int MAX_WHITESPACE = 2;

    // lexer states
    private static final int VALUE = 0, VALUE_OR_CLOSE_ARRAY = 1, KEY_OR_CLOSE = 2, KEY = 3, COLON = 4,
            AFTER_VALUE = 5, STRING = 6, STRING_ESCAPE = 7, STRING_HEX = 8, NUM_MINUS = 9, NUM_ZERO = 10,
            NUM_INT = 11, NUM_DOT = 12, NUM_FRAC = 13, NUM_E = 14, NUM_E_SIGN = 15, NUM_EXP = 16, LITERAL = 17,
            DONE = 18, START = 19, REJECTED = 20;
    private static final byte[][] LITERALS = {"true".getBytes(), "false".getBytes(), "null".getBytes()};

    private int state = START;
    private boolean stringIsKey;
    private int hexLeft, literal, literalPos, whitespace;
    private byte[] stack = new byte[16]; // '{' or '['
    private int depth;

    @Override
    public ByteGrammar fresh() { return new JsonGrammar(); }

    @Override
    public void copyFrom(ByteGrammar other) {
        JsonGrammar o = (JsonGrammar) other;
        state = o.state;
        stringIsKey = o.stringIsKey;
        hexLeft = o.hexLeft;
        literal = o.literal;
        literalPos = o.literalPos;
        whitespace = o.whitespace;
        if (stack.length < o.stack.length) stack = new byte[o.stack.length];
        System.arraycopy(o.stack, 0, stack, 0, o.depth);
        depth = o.depth;
    }

    /** The document is complete. */
    @Override
    public boolean done() { return state == DONE; }

    boolean rejected() { return state == REJECTED; }

    /** Feeds bytes; returns false (and stays rejected) if they cannot continue a valid document. */
    @Override
    public boolean feed(byte[] bytes) {
        for (byte b : bytes) {
            if (!feed(b & 0xff)) {
                state = REJECTED;
                return false;
            }
        }
        return true;
    }

    private static boolean isWs(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

    private boolean feed(int c) {
        switch (state) {
            case STRING -> {
                if (c == '"') { state = stringIsKey ? COLON : AFTER_VALUE; return true; }
                if (c == '\\') { state = STRING_ESCAPE; return true; }
                return c >= 0x20;
            }
            case STRING_ESCAPE -> {
                if (c == 'u') { state = STRING_HEX; hexLeft = 4; return true; }
                if ("\"\\/bfnrt".indexOf(c) >= 0) { state = STRING; return true; }
                return false;
            }
            case STRING_HEX -> {
                if (Character.digit(c, 16) < 0) return false;
                if (--hexLeft == 0) state = STRING;
                return true;
            }
            case LITERAL -> {
                byte[] lit = LITERALS[literal];
                if (c != lit[literalPos]) return false;
                if (++literalPos == lit.length) state = AFTER_VALUE;
                return true;
            }
            case NUM_MINUS -> {
                if (c == '0') { state = NUM_ZERO; return true; }
                if (c >= '1' && c <= '9') { state = NUM_INT; return true; }
                return false;
            }
            case NUM_ZERO, NUM_INT -> {
                if (state == NUM_INT && c >= '0' && c <= '9') return true;
                if (c == '.') { state = NUM_DOT; return true; }
                if (c == 'e' || c == 'E') { state = NUM_E; return true; }
                state = AFTER_VALUE;
                return feed(c);
            }
            case NUM_DOT -> {
                if (c >= '0' && c <= '9') { state = NUM_FRAC; return true; }
                return false;
            }
            case NUM_FRAC -> {
                if (c >= '0' && c <= '9') return true;
                if (c == 'e' || c == 'E') { state = NUM_E; return true; }
                state = AFTER_VALUE;
                return feed(c);
            }
            case NUM_E -> {
                if (c == '+' || c == '-') { state = NUM_E_SIGN; return true; }
                if (c >= '0' && c <= '9') { state = NUM_EXP; return true; }
                return false;
            }
            case NUM_E_SIGN -> {
                if (c >= '0' && c <= '9') { state = NUM_EXP; return true; }
                return false;
            }
            case NUM_EXP -> {
                if (c >= '0' && c <= '9') return true;
                state = AFTER_VALUE;
                return feed(c);
            }
            case REJECTED -> { return false; }
            default -> { }
        }
        // structural states: whitespace allowed (bounded)
        if (isWs(c)) {
            if (state == DONE || state == START) return false;
            return ++whitespace <= MAX_WHITESPACE;
        }
        whitespace = 0;
        switch (state) {
            case START -> {
                if (c != '{') return false;
                push((byte) '{');
                state = KEY_OR_CLOSE;
                return true;
            }
            case VALUE, VALUE_OR_CLOSE_ARRAY -> {
                if (state == VALUE_OR_CLOSE_ARRAY && c == ']') return close('[');
                return startValue(c);
            }
            case KEY_OR_CLOSE, KEY -> {
                if (state == KEY_OR_CLOSE && c == '}') return close('{');
                if (c != '"') return false;
                state = STRING;
                stringIsKey = true;
                return true;
            }
            case COLON -> {
                if (c != ':') return false;
                state = VALUE;
                return true;
            }
            case AFTER_VALUE -> {
                if (depth == 0) return false;
                byte top = stack[depth - 1];
                if (c == ',') { state = top == '{' ? KEY : VALUE; return true; }
                if (c == '}' && top == '{') return close('{');
                if (c == ']' && top == '[') return close('[');
                return false;
            }
            default -> { return false; } // DONE: nothing may follow
        }
    }

    private boolean startValue(int c) {
        switch (c) {
            case '{' -> { push((byte) '{'); state = KEY_OR_CLOSE; }
            case '[' -> { push((byte) '['); state = VALUE_OR_CLOSE_ARRAY; }
            case '"' -> { state = STRING; stringIsKey = false; }
            case '-' -> state = NUM_MINUS;
            case '0' -> state = NUM_ZERO;
            case 't', 'f', 'n' -> {
                literal = c == 't' ? 0 : c == 'f' ? 1 : 2;
                literalPos = 1;
                state = LITERAL;
            }
            default -> {
                if (c >= '1' && c <= '9') { state = NUM_INT; return true; }
                return false;
            }
        }
        return true;
    }

    private void push(byte b) {
        if (depth == stack.length) stack = Arrays.copyOf(stack, depth * 2);
        stack[depth++] = b;
    }

    private boolean close(char open) {
        if (depth == 0 || stack[depth - 1] != open) return false;
        depth--;
        state = depth == 0 ? DONE : AFTER_VALUE;
        return true;
    }
}
