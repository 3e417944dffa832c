package io.jlm.cli;

import io.jlm.formats.gguf.GGUFFile;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.lang.foreign.MemorySegment;

/**
 * Reads a mapped model file into the page cache before the first token, with a progress bar for big files,
 * so that loading time is shown while it happens instead of hiding inside the first forward pass.
 */
final class Preload {
    /** Files smaller than this load without a progress bar. */
    static final long BAR_THRESHOLD = 256L << 20;
    private static final long CHUNK = 32L << 20;

    private Preload() {}

    static void pages(GGUFFile file, boolean quiet) {
        MemorySegment seg = file.segment();
        long size = seg.byteSize();
        if (size == 0) return;
        if (quiet || size < BAR_THRESHOLD) {
            seg.load();
            return;
        }
        try (ProgressBar bar = new ProgressBarBuilder()
                .setTaskName("loading " + file.path().getFileName())
                .setInitialMax(size >> 20)
                .setUnit(" MiB", 1)
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                .setUpdateIntervalMillis(200)
                .build()) {
            for (long off = 0; off < size; off += CHUNK) {
                long n = Math.min(CHUNK, size - off);
                seg.asSlice(off, n).load();
                bar.stepTo((off + n) >> 20);
            }
        }
    }
}
