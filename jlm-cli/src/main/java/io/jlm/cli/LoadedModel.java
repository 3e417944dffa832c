package io.jlm.cli;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.models.LanguageModel;
import io.jlm.models.Models;
import io.jlm.models.WeightSource;
import io.jlm.tokenizers.Tokenizer;
import io.jlm.tokenizers.Tokenizers;

import java.io.IOException;
import java.nio.file.Path;

/** A GGUF file opened once: its model (weights mapped), its tokenizer and the thread pool the model runs on. */
final class LoadedModel implements AutoCloseable {
    final GGUFFile file;
    final ThreadPool pool;
    final LanguageModel model;
    final Tokenizer tokenizer;

    private LoadedModel(GGUFFile file, ThreadPool pool, LanguageModel model, Tokenizer tokenizer) {
        this.file = file;
        this.pool = pool;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    static LoadedModel open(Path path, int threads) throws IOException {
        return open(path, threads, true);
    }

    /** @param withTokenizer false to skip the vocabulary ({@link #tokenizer} is then null) */
    static LoadedModel open(Path path, int threads, boolean withTokenizer) throws IOException {
        GGUFFile file = GGUFFile.open(path);
        ThreadPool pool = null;
        try {
            Tokenizer tok = withTokenizer ? Tokenizers.fromGGUF(file.metadata()) : null;
            pool = new ThreadPool(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
            LanguageModel model = Models.load(WeightSource.of(file), pool);
            Preload.pages(file, false);
            return new LoadedModel(file, pool, model, tok);
        } catch (Throwable e) {
            if (pool != null) pool.close();
            file.close();
            throw e;
        }
    }

    /** Only the tokenizer (no weights are touched). */
    static Tokenizer tokenizer(Path path) throws IOException {
        try (GGUFFile file = GGUFFile.open(path)) {
            return Tokenizers.fromGGUF(file.metadata());
        }
    }

    /** The context size to use: the requested one, else the model's training context capped at 4096. */
    int contextSize(int requested) {
        if (requested > 0) return requested;
        int trained = model.config().contextLength();
        return trained > 0 ? Math.min(trained, 4096) : 2048;
    }

    @Override
    public void close() {
        model.close();
        pool.close();
        file.close();
    }
}
