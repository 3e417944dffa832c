package io.jlm.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;

/** Character-level data as nanoGPT's shakespeare_char prepare.py: sorted character vocabulary, first 90% train, last 10% val. */
public final class CharData {
    public final String chars;
    public final int[] train, val;

    public CharData(String text) {
        TreeSet<Integer> set = new TreeSet<>();
        text.codePoints().forEach(set::add);
        StringBuilder sb = new StringBuilder();
        for (int cp : set) sb.appendCodePoint(cp);
        chars = sb.toString();
        int[] all = encode(text);
        int n = (int) (all.length * 0.9);
        train = java.util.Arrays.copyOfRange(all, 0, n);
        val = java.util.Arrays.copyOfRange(all, n, all.length);
    }

    public static CharData load(Path file) throws IOException {
        return new CharData(Files.readString(file, StandardCharsets.UTF_8));
    }

    public int vocab() { return chars.codePointCount(0, chars.length()); }

    public int[] encode(String s) {
        int[] cps = chars.codePoints().toArray();
        return s.codePoints().map(cp -> {
            int i = java.util.Arrays.binarySearch(cps, cp);
            if (i < 0) throw new IllegalArgumentException("character U+" + Integer.toHexString(cp) + " not in vocabulary");
            return i;
        }).toArray();
    }

    public String decode(int[] ids) {
        int[] cps = chars.codePoints().toArray();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.appendCodePoint(cps[id]);
        return sb.toString();
    }

    /** Fills {@code x}/{@code y} with {@code batch} random windows of {@code t} tokens of {@code data} (y shifted by one). */
    public static void batch(int[] data, int batch, int t, Rng rng, int[] x, int[] y) {
        for (int b = 0; b < batch; b++) {
            int i = rng.nextInt(data.length - t);
            System.arraycopy(data, i, x, b * t, t);
            System.arraycopy(data, i + 1, y, b * t, t);
        }
    }
}
