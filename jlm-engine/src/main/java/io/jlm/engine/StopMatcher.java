package io.jlm.engine;

import java.util.List;

/**
 * Finds stop strings in streamed text, across piece boundaries. Text is released only once it cannot be the
 * start of a stop string; when a stop string appears, the text before it is released and the rest dropped.
 */
public final class StopMatcher {
    private final String[] stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;
    private String matched;

    public StopMatcher(List<String> stopStrings) {
        this.stops = stopStrings.stream().filter(s -> s != null && !s.isEmpty()).toArray(String[]::new);
    }

    public boolean stopped() { return stopped; }

    /** The stop string that ended the text, or null. */
    public String matched() { return matched; }

    /** Adds text and returns the part that can be released now. */
    public String feed(String piece) {
        if (stopped) return "";
        if (stops.length == 0) return piece;
        pending.append(piece);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) { first = at; matched = s; }
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        int hold = 0; // longest suffix of pending that is a proper prefix of some stop string
        String text = pending.toString();
        for (String s : stops) {
            int max = Math.min(s.length() - 1, pending.length());
            for (int k = max; k > hold; k--) {
                if (text.regionMatches(text.length() - k, s, 0, k)) { hold = k; break; }
            }
        }
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /** Releases the held-back text (the stream ended without a stop string). */
    public String flush() {
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }
}
