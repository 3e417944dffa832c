package io.jlm.tokenizers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import static io.jlm.tokenizers.PreTokenizerUnicode.*;

/**
 * A sequence of split regexes applied as llama.cpp's {@code unicode_regex_split} applies them: every regex splits
 * each piece the previous regexes produced into matches and the gaps between them (both kept).
 *
 * <p>The regexes are written in llama.cpp's form. Like llama.cpp:
 * <ul>
 *   <li>the GPT-2 and Llama-3 expressions run through hand-written matchers with full Unicode categories;</li>
 *   <li>any other expression that uses {@code \p{..}} runs on a "collapsed" text in which every non-ASCII code point
 *       stands for its category (letter, number, punctuation, mark, symbol, other; non-ASCII whitespace becomes
 *       U+000B), with each {@code \p{X}} rewritten to that category char plus its ASCII members;</li>
 *   <li>other expressions run on the code points, non-ASCII whitespace replaced by U+000B.</li>
 * </ul>
 * Java's backtracking regex engine has the same leftmost-first alternation and greedy semantics as the
 * ECMAScript engine llama.cpp uses, and {@code \s} is ASCII whitespace in both.
 */
final class PreTokenizerRegex implements PreTokenizer {

    private sealed interface Step permits Gpt2, Llama3, Collapsed, Wide {}
    private record Gpt2() implements Step {}
    private record Llama3() implements Step {}
    private record Collapsed(Pattern pattern) implements Step {}
    private record Wide(Pattern pattern) implements Step {}

    private final List<String> regexes;
    private final Step[] steps;
    private final boolean needCollapsed;
    private final boolean needWide;

    PreTokenizerRegex(List<String> regexes) {
        if (regexes.isEmpty()) throw new IllegalArgumentException("pre-tokenizer needs at least one regex");
        this.regexes = List.copyOf(regexes);
        this.steps = new Step[regexes.size()];
        boolean nc = false, nw = false;
        for (int i = 0; i < steps.length; i++) {
            String r = regexes.get(i);
            Step s;
            try {
                if (r.equals(PreTokenizerType.GPT2)) {
                    s = new Gpt2();
                } else if (r.equals(PreTokenizerType.LLAMA3) || r.equals(PreTokenizerType.LLAMA3_ORIG)) {
                    s = new Llama3();
                } else if (usesCategory(r)) {
                    s = new Collapsed(Pattern.compile(collapseRegex(r)));
                    nc = true;
                } else {
                    s = new Wide(Pattern.compile(r));
                    nw = true;
                }
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("pre-tokenizer regex does not compile: " + r + ": " + e.getMessage(), e);
            }
            steps[i] = s;
        }
        needCollapsed = nc;
        needWide = nw;
    }

    List<String> regexes() { return regexes; }

    @Override
    public int[] split(int[] cps) {
        int n = cps.length;
        if (n == 0) return new int[0];
        IntList offsets = new IntList(16);
        offsets.add(n);
        String collapsed = null;
        String wide = null;
        int[] cpToUnit = null, unitToCp = null;
        if (needCollapsed) {
            char[] c = new char[n];
            for (int i = 0; i < n; i++) c[i] = collapse(cps[i]);
            collapsed = new String(c);
        }
        if (needWide) {
            StringBuilder sb = new StringBuilder(n + 8);
            cpToUnit = new int[n + 1];
            for (int i = 0; i < n; i++) {
                cpToUnit[i] = sb.length();
                int cp = cps[i];
                if (cp > 0x7F && PreTokenizerUnicode.whiteSpace(cp)) cp = 0x0B;
                sb.appendCodePoint(cp);
            }
            cpToUnit[n] = sb.length();
            unitToCp = new int[sb.length() + 1];
            for (int i = 0; i <= n; i++) unitToCp[cpToUnit[i]] = i;
            wide = sb.toString();
        }
        for (Step step : steps) {
            IntList out = new IntList(Math.max(16, offsets.size * 2));
            switch (step) {
                case Gpt2 g -> splitGpt2(cps, offsets, out);
                case Llama3 l -> splitLlama3(cps, offsets, out);
                case Collapsed c -> splitRegex(c.pattern.matcher(collapsed), offsets, out, null, null);
                case Wide w -> splitRegex(w.pattern.matcher(wide), offsets, out, cpToUnit, unitToCp);
            }
            offsets = out;
        }
        return offsets.toArray();
    }

    private static void splitRegex(Matcher m, IntList offsets, IntList out, int[] cpToUnit, int[] unitToCp) {
        int start = 0;
        for (int k = 0; k < offsets.size; k++) {
            int len = offsets.data[k];
            int end = start + len;
            if (len > 0) {
                int s = cpToUnit == null ? start : cpToUnit[start];
                int e = cpToUnit == null ? end : cpToUnit[end];
                m.region(s, e);
                int prev = start;
                while (m.find()) {
                    int ms = unitToCp == null ? m.start() : unitToCp[m.start()];
                    int me = unitToCp == null ? m.end() : unitToCp[m.end()];
                    if (ms > prev) out.add(ms - prev);
                    if (me > ms) out.add(me - ms);
                    prev = me;
                }
                if (prev < end) out.add(end - prev);
            }
            start = end;
        }
    }

    // ---- llama.cpp's hand-written matchers -------------------------------------------------------------------

    /** 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    private static void splitGpt2(int[] cps, IntList offsets, IntList out) {
        int start = 0;
        for (int k = 0; k < offsets.size; k++) {
            final int ini = start, end = start + offsets.data[k];
            start = end;
            int prevEnd = ini;
            int pos = ini;
            while (pos < end) {
                int cpt = cps[pos];
                int flags = flagsAt(cps, pos, ini, end);
                if (cpt == '\'' && pos + 1 < end) {
                    int next = cps[pos + 1];
                    if (next == 's' || next == 't' || next == 'm' || next == 'd') {
                        pos += 2;
                        if (pos > prevEnd) out.add(pos - prevEnd);
                        prevEnd = pos;
                        continue;
                    }
                    if (pos + 2 < end) {
                        int nn = cps[pos + 2];
                        if ((next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l')) {
                            pos += 3;
                            out.add(pos - prevEnd);
                            prevEnd = pos;
                            continue;
                        }
                    }
                }
                int flags2 = cpt == ' ' ? flagsAt(cps, pos + 1, ini, end) : flags;
                if ((flags2 & LETTER) != 0) {
                    if (cpt == ' ') pos++;
                    while ((flags2 & LETTER) != 0) flags2 = flagsAt(cps, ++pos, ini, end);
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                if ((flags2 & NUMBER) != 0) {
                    if (cpt == ' ') pos++;
                    while ((flags2 & NUMBER) != 0) flags2 = flagsAt(cps, ++pos, ini, end);
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                if ((flags2 & (WHITESPACE | LETTER | NUMBER)) == 0 && flags2 != 0) {
                    if (cpt == ' ') pos++;
                    while ((flags2 & (WHITESPACE | LETTER | NUMBER)) == 0 && flags2 != 0) flags2 = flagsAt(cps, ++pos, ini, end);
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                int ws = 0;
                while ((flagsAt(cps, pos + ws, ini, end) & WHITESPACE) != 0) ws++;
                if (ws > 1 && pos + ws < end) {
                    pos += ws - 1;
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                if (ws > 0) {
                    pos += ws;
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                pos++;
                out.add(pos - prevEnd);
                prevEnd = pos;
            }
        }
    }

    /** (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
    private static void splitLlama3(int[] cps, IntList offsets, IntList out) {
        int start = 0;
        for (int k = 0; k < offsets.size; k++) {
            final int ini = start, end = start + offsets.data[k];
            start = end;
            int prevEnd = ini;
            int pos = ini;
            while (pos < end) {
                int cpt = cps[pos];
                int flags = flagsAt(cps, pos, ini, end);
                if (cpt == '\'' && pos + 1 < end) {
                    int next = Character.toLowerCase(cps[pos + 1]);
                    if (next == 's' || next == 't' || next == 'm' || next == 'd') {
                        pos += 2;
                        out.add(pos - prevEnd);
                        prevEnd = pos;
                        continue;
                    }
                    if (pos + 2 < end) {
                        int nn = Character.toLowerCase(cps[pos + 2]);
                        if ((next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l')) {
                            pos += 3;
                            out.add(pos - prevEnd);
                            prevEnd = pos;
                            continue;
                        }
                    }
                }
                if (!(cpt == '\r' || cpt == '\n' || (flags & NUMBER) != 0)) {
                    if ((flags & LETTER) != 0 || (flagsAt(cps, pos + 1, ini, end) & LETTER) != 0) {
                        pos++;
                        while ((flagsAt(cps, pos, ini, end) & LETTER) != 0) pos++;
                        out.add(pos - prevEnd);
                        prevEnd = pos;
                        continue;
                    }
                }
                if ((flags & NUMBER) != 0) {
                    int i0 = pos;
                    while ((flagsAt(cps, pos, ini, end) & NUMBER) != 0) {
                        if (++pos - i0 >= 3) {
                            out.add(pos - prevEnd);
                            prevEnd = pos;
                            i0 = pos;
                        }
                    }
                    if (pos > prevEnd) out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                int flags2 = cpt == ' ' ? flagsAt(cps, pos + 1, ini, end) : flags;
                if ((flags2 & (WHITESPACE | LETTER | NUMBER)) == 0 && flags != 0) {
                    if (cpt == ' ') pos++;
                    while ((flags2 & (WHITESPACE | LETTER | NUMBER)) == 0 && flags2 != 0) flags2 = flagsAt(cps, ++pos, ini, end);
                    while (pos < end && (cps[pos] == '\r' || cps[pos] == '\n')) pos++;
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                int ws = 0;
                int lastRN = 0;
                while ((flagsAt(cps, pos + ws, ini, end) & WHITESPACE) != 0) {
                    int c2 = cps[pos + ws];
                    if (c2 == '\r' || c2 == '\n') lastRN = pos + ws + 1;
                    ws++;
                }
                if (lastRN > 0) {
                    pos = lastRN;
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                if (ws > 1 && pos + ws < end) {
                    pos += ws - 1;
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                if (ws > 0) {
                    pos += ws;
                    out.add(pos - prevEnd);
                    prevEnd = pos;
                    continue;
                }
                pos++;
                out.add(pos - prevEnd);
                prevEnd = pos;
            }
        }
    }

    private static int flagsAt(int[] cps, int pos, int ini, int end) {
        return pos >= ini && pos < end ? PreTokenizerUnicode.flags(cps[pos]) : 0;
    }

    // ---- category collapsing ---------------------------------------------------------------------------------

    private static final String[] CATEGORY_NAMES = {"N", "L", "P", "M", "S", "Lu", "Ll", "Lt", "Lm", "Lo"};

    static boolean usesCategory(String regex) {
        for (String c : CATEGORY_NAMES) if (regex.contains("\\p{" + c + "}")) return true;
        return false;
    }

    /** The category char and the ASCII members of a category, as a character-class body. */
    private static String categoryClass(String name) {
        return switch (name) {
            case "N" -> "\u00D1" + "0-9";
            case "L", "Lu", "Ll", "Lt", "Lm", "Lo" -> "\u00D2" + "A-Za-z";
            case "P" -> "\u00D3" + "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}";
            case "M" -> "\u00D4";
            case "S" -> "\u00D5" + "\\$\\+<->^`\\|";
            default -> null;
        };
    }

    /** Rewrites every {@code \p{X}} to its collapsed class, as llama.cpp does (inside or outside brackets). */
    static String collapseRegex(String regex) {
        for (int i = 0; i < regex.length(); i++) {
            if (regex.charAt(i) >= 128) {
                throw new IllegalArgumentException("regex uses both Unicode categories and non-ASCII characters, which llama.cpp does not support: " + regex);
            }
        }
        StringBuilder sb = new StringBuilder(regex.length() + 64);
        boolean inside = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '[' && (i == 0 || regex.charAt(i - 1) != '\\')) {
                sb.append('[');
                inside = true;
                continue;
            }
            if (inside && c == ']' && regex.charAt(i - 1) != '\\') {
                sb.append(']');
                inside = false;
                continue;
            }
            if (c == '\\' && i + 3 < regex.length() && regex.charAt(i + 1) == 'p' && regex.charAt(i + 2) == '{') {
                int close = regex.indexOf('}', i + 3);
                if (close >= 0 && close <= i + 10) {
                    String cls = categoryClass(regex.substring(i + 3, close));
                    if (cls != null) {
                        if (!inside) sb.append('[');
                        sb.append(cls);
                        if (!inside) sb.append(']');
                        i = close;
                        continue;
                    }
                }
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /** Minimal growable int array. */
    static final class IntList {
        int[] data;
        int size;

        IntList(int cap) { data = new int[cap]; }

        void add(int v) {
            if (size == data.length) data = Arrays.copyOf(data, size * 2 + 8);
            data[size++] = v;
        }

        int[] toArray() { return Arrays.copyOf(data, size); }
    }

    @Override
    public String toString() { return "PreTokenizerRegex" + new ArrayList<>(regexes); }
}
