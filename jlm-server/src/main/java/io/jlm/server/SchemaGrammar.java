package io.jlm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Recognizes compact JSON documents that match a JSON Schema (the subset OpenAI's structured outputs use):
 * objects with {@code properties} (every property is written, in the schema's order), arrays with {@code items},
 * {@code string}, {@code integer}, {@code number}, {@code boolean}, {@code null}, {@code enum} and {@code const}.
 * Anything else ({@code $ref}, {@code anyOf}, free-form objects, union types, string formats) is refused with
 * an {@link IllegalArgumentException} naming the schema path.
 *
 * <p>The schema compiles to a small tree of nodes; the recognizer is a stack of frames (node, position, aux)
 * held in int/long arrays, so copying a state is a few array copies.
 */
final class SchemaGrammar implements ByteGrammar {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final int LIT = 0, STRING = 1, ENUM = 2, NUMBER = 3, ARRAY = 4, SEQ = 5;

    /** Compiled node: kind plus its data. */
    private record Node(int kind, byte[] literal, byte[][] options, boolean integer, int item, int[] children) {}

    private final Node[] nodes;
    private final int root;

    // frames
    private int depth;
    private boolean rejected;
    private int[] node = new int[16], pos = new int[16];
    private long[] aux = new long[16];

    private SchemaGrammar(Node[] nodes, int root) {
        this.nodes = nodes;
        this.root = root;
        push(root);
    }

    /** Compiles {@code schema}; throws IllegalArgumentException for what it does not support. */
    static SchemaGrammar compile(JsonNode schema) {
        List<Node> out = new ArrayList<>();
        int root = compile(schema, "schema", out);
        if (out.get(root).kind() != SEQ || out.get(root).children().length == 0
                || out.get(out.get(root).children()[0]).literal()[0] != '{') {
            throw new IllegalArgumentException("schema: the top level must be an object with properties");
        }
        return new SchemaGrammar(out.toArray(Node[]::new), root);
    }

    private static int add(List<Node> out, Node n) {
        out.add(n);
        return out.size() - 1;
    }

    private static int literal(List<Node> out, String s) {
        return add(out, new Node(LIT, s.getBytes(StandardCharsets.UTF_8), null, false, -1, null));
    }

    private static int compile(JsonNode s, String path, List<Node> out) {
        if (s == null || !s.isObject()) throw new IllegalArgumentException(path + ": expected a schema object");
        for (String unsupported : List.of("$ref", "anyOf", "oneOf", "allOf", "not", "if", "patternProperties")) {
            if (s.has(unsupported)) throw new IllegalArgumentException(path + ": '" + unsupported + "' is not supported");
        }
        if (s.has("const")) return literal(out, write(s.get("const")));
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray() || e.isEmpty() || e.size() > 64) throw new IllegalArgumentException(path + ".enum: expected 1..64 values");
            byte[][] opts = new byte[e.size()][];
            for (int i = 0; i < opts.length; i++) opts[i] = write(e.get(i)).getBytes(StandardCharsets.UTF_8);
            return add(out, new Node(ENUM, null, opts, false, -1, null));
        }
        JsonNode t = s.get("type");
        if (t == null || !t.isTextual()) throw new IllegalArgumentException(path + ".type: expected one type name");
        switch (t.asText()) {
            case "string" -> {
                if (s.has("pattern") || s.has("format")) throw new IllegalArgumentException(path + ": string pattern/format is not supported");
                return add(out, new Node(STRING, null, null, false, -1, null));
            }
            case "integer", "number" -> { return add(out, new Node(NUMBER, null, null, t.asText().equals("integer"), -1, null)); }
            case "boolean" -> {
                return add(out, new Node(ENUM, null, new byte[][]{"true".getBytes(), "false".getBytes()}, false, -1, null));
            }
            case "null" -> { return literal(out, "null"); }
            case "array" -> {
                int item = compile(s.get("items"), path + ".items", out);
                return add(out, new Node(ARRAY, null, null, false, item, null));
            }
            case "object" -> {
                JsonNode props = s.get("properties");
                if (props == null || !props.isObject() || props.isEmpty()) {
                    throw new IllegalArgumentException(path + ": objects need 'properties' (free-form objects are not supported)");
                }
                List<Integer> children = new ArrayList<>();
                boolean first = true;
                for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> p = it.next();
                    children.add(literal(out, (first ? "{" : ",") + write(JSON.getNodeFactory().textNode(p.getKey())) + ":"));
                    children.add(compile(p.getValue(), path + ".properties." + p.getKey(), out));
                    first = false;
                }
                children.add(literal(out, "}"));
                return add(out, new Node(SEQ, null, null, false, -1, children.stream().mapToInt(Integer::intValue).toArray()));
            }
            default -> throw new IllegalArgumentException(path + ".type: '" + t.asText() + "' is not supported");
        }
    }

    private static String write(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    // ------------------------------------------------------------------ recognizer

    private void push(int n) {
        if (depth == node.length) {
            node = Arrays.copyOf(node, depth * 2);
            pos = Arrays.copyOf(pos, depth * 2);
            aux = Arrays.copyOf(aux, depth * 2);
        }
        node[depth] = n;
        pos[depth] = 0;
        Node nd = nodes[n];
        aux[depth] = nd.kind() == ENUM ? (nd.options().length == 64 ? -1L : (1L << nd.options().length) - 1) : 0;
        depth++;
    }

    @Override
    public ByteGrammar fresh() { return new SchemaGrammar(nodes, root); }

    @Override
    public void copyFrom(ByteGrammar other) {
        SchemaGrammar o = (SchemaGrammar) other;
        if (node.length < o.depth) {
            node = new int[o.node.length];
            pos = new int[o.node.length];
            aux = new long[o.node.length];
        }
        System.arraycopy(o.node, 0, node, 0, o.depth);
        System.arraycopy(o.pos, 0, pos, 0, o.depth);
        System.arraycopy(o.aux, 0, aux, 0, o.depth);
        depth = o.depth;
        rejected = o.rejected;
    }

    @Override
    public boolean done() { return depth == 0 && !rejected; }

    @Override
    public boolean feed(byte[] bytes) {
        for (byte b : bytes) {
            if (rejected || !feed(b & 0xff)) {
                rejected = true;
                return false;
            }
        }
        return true;
    }

    // number lexer states (aux)
    private static final int N_START = 0, N_MINUS = 1, N_ZERO = 2, N_INT = 3, N_DOT = 4, N_FRAC = 5, N_E = 6, N_ESIGN = 7, N_EXP = 8;
    // string states (aux)
    private static final int S_OPEN = 0, S_IN = 1, S_ESC = 2, S_HEX = 3; // S_HEX + k: k hex digits seen

    private boolean feed(int c) {
        while (true) {
            if (depth == 0) return false; // complete: nothing may follow
            int d = depth - 1;
            Node nd = nodes[node[d]];
            switch (nd.kind()) {
                case LIT -> {
                    if (c != (nd.literal()[pos[d]] & 0xff)) return false;
                    if (++pos[d] == nd.literal().length) pop();
                    return true;
                }
                case STRING -> {
                    int st = (int) aux[d];
                    if (st == S_OPEN) { if (c != '"') return false; aux[d] = S_IN; return true; }
                    if (st == S_IN) {
                        if (c == '"') { pop(); return true; }
                        if (c == '\\') { aux[d] = S_ESC; return true; }
                        return c >= 0x20;
                    }
                    if (st == S_ESC) {
                        if (c == 'u') { aux[d] = S_HEX; return true; }
                        if ("\"\\/bfnrt".indexOf(c) < 0) return false;
                        aux[d] = S_IN;
                        return true;
                    }
                    if (Character.digit(c, 16) < 0) return false;
                    aux[d] = st == S_HEX + 3 ? S_IN : st + 1;
                    return true;
                }
                case ENUM -> {
                    long alive = aux[d], next = 0;
                    int p = pos[d];
                    boolean completeHere = false;
                    byte[][] opts = nd.options();
                    for (int i = 0; i < opts.length; i++) {
                        if ((alive & (1L << i)) == 0) continue;
                        if (opts[i].length == p) completeHere = true;
                        else if ((opts[i][p] & 0xff) == c) next |= 1L << i;
                    }
                    if (next != 0) {
                        aux[d] = next;
                        pos[d] = p + 1;
                        // exactly one option left and fully read: done
                        if (Long.bitCount(next) == 1 && opts[Long.numberOfTrailingZeros(next)].length == p + 1) pop();
                        return true;
                    }
                    if (!completeHere) return false;
                    pop(); // an option ended before this byte: the byte belongs to the parent
                }
                case NUMBER -> {
                    int st = (int) aux[d];
                    boolean digit = c >= '0' && c <= '9';
                    int ns = switch (st) {
                        case N_START -> c == '-' ? N_MINUS : c == '0' ? N_ZERO : digit ? N_INT : -1;
                        case N_MINUS -> c == '0' ? N_ZERO : digit ? N_INT : -1;
                        case N_ZERO -> !nd.integer() && c == '.' ? N_DOT : !nd.integer() && (c == 'e' || c == 'E') ? N_E : -2;
                        case N_INT -> digit ? N_INT : !nd.integer() && c == '.' ? N_DOT : !nd.integer() && (c == 'e' || c == 'E') ? N_E : -2;
                        case N_DOT -> digit ? N_FRAC : -1;
                        case N_FRAC -> digit ? N_FRAC : c == 'e' || c == 'E' ? N_E : -2;
                        case N_E -> c == '+' || c == '-' ? N_ESIGN : digit ? N_EXP : -1;
                        case N_ESIGN -> digit ? N_EXP : -1;
                        default -> digit ? N_EXP : -2; // N_EXP
                    };
                    if (ns >= 0) { aux[d] = ns; pos[d]++; return true; }
                    if (ns == -1) return false;
                    pop(); // the number ended: the byte belongs to the parent
                }
                case ARRAY -> {
                    int phase = pos[d]; // 0: expect '[', 1: after '[', 2: after an item
                    if (phase == 0) { if (c != '[') return false; pos[d] = 1; return true; }
                    if (c == ']') { pop(); return true; }
                    if (phase == 2) { if (c != ',') return false; pos[d] = 3; return true; }
                    pos[d] = 2; // phase 1 or 3: an item starts with this byte
                    push(nd.item());
                }
                default -> { // SEQ
                    if (pos[d] == nd.children().length) { pop(); continue; }
                    int child = nd.children()[pos[d]++];
                    push(child);
                }
            }
        }
    }

    private void pop() {
        depth--;
        // collapse finished sequences so that done() is exact after the last literal
        while (depth > 0) {
            Node nd = nodes[node[depth - 1]];
            if (nd.kind() == SEQ && pos[depth - 1] == nd.children().length) depth--;
            else break;
        }
    }
}
