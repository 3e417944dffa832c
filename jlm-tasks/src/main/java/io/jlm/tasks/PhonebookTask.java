package io.jlm.tasks;

import java.util.random.RandomGenerator;

/**
 * Phonebook lookup ("Repeat After Me"): {@code entries} lines {@code name : number ;} with distinct names of
 * {@code nameLength} letters and numbers of {@code numberLength} digits, then {@code queries} lookups
 * {@code QUERY name : number ;} of distinct entries; the digits of each looked-up number are scored.
 * <p>Tokens: digits {@code 0..9}, letters {@code [10, 10 + letters)}, then {@code :} , {@code ;} and the query marker.
 */
public record PhonebookTask(int entries, int queries, int nameLength, int numberLength, int letters) implements Task {

    public PhonebookTask {
        Sampling.require(entries >= 1 && queries >= 1 && queries <= entries, "phonebook", "need 1 <= queries <= entries");
        Sampling.require(nameLength >= 1 && numberLength >= 1, "phonebook", "name and number lengths must be >= 1");
        Sampling.require(letters >= 2, "phonebook", "letters must be >= 2");
        Sampling.require(Math.pow(letters, nameLength) >= 2.0 * entries, "phonebook",
                letters + "^" + nameLength + " names are too few for " + entries + " distinct entries (need >= 2x)");
    }

    public int colon() { return 10 + letters; }
    public int semicolon() { return 11 + letters; }
    public int query() { return 12 + letters; }

    private int entryLength() { return nameLength + numberLength + 2; }

    @Override public String name() { return "phonebook"; }
    @Override public int vocabSize() { return 13 + letters; }
    @Override public int sequenceLength() { return entries * entryLength() + queries * (entryLength() + 1); }

    @Override
    public Example sample(RandomGenerator rnd) {
        int[][] names = new int[entries][];
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int e = 0; e < entries; e++) {
            int[] nm;
            do {
                nm = new int[nameLength];
                for (int i = 0; i < nameLength; i++) nm[i] = 10 + rnd.nextInt(letters);
            } while (!seen.add(java.util.Arrays.toString(nm)));
            names[e] = nm;
        }
        int[][] numbers = new int[entries][numberLength];
        for (int[] num : numbers) for (int i = 0; i < numberLength; i++) num[i] = rnd.nextInt(10);
        int[] tokens = new int[sequenceLength()];
        boolean[] scored = new boolean[tokens.length];
        int p = 0;
        for (int e = 0; e < entries; e++) p = entry(tokens, p, names[e], numbers[e]);
        for (int e : Sampling.distinct(rnd, entries, queries)) {
            tokens[p++] = query();
            int colonAt = p + nameLength;
            p = entry(tokens, p, names[e], numbers[e]);
            for (int i = colonAt; i < colonAt + numberLength; i++) scored[i] = true;
        }
        return Example.scoring(tokens, scored);
    }

    private int entry(int[] tokens, int p, int[] name, int[] number) {
        System.arraycopy(name, 0, tokens, p, nameLength);
        p += nameLength;
        tokens[p++] = colon();
        System.arraycopy(number, 0, tokens, p, numberLength);
        p += numberLength;
        tokens[p++] = semicolon();
        return p;
    }
}
