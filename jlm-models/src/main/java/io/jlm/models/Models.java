package io.jlm.models;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.models.hybrid.HybridModel;
import io.jlm.models.mamba.MambaModel;
import io.jlm.models.transformer.ArchSpec;
import io.jlm.models.transformer.TransformerLoader;

import java.io.IOException;
import java.nio.file.Path;

/** Loads models from GGUF files, dispatching on {@code general.architecture}. */
public final class Models {
    private Models() {}

    /** Architectures {@link #load} understands. */
    public static final String SUPPORTED = "llama, qwen2, qwen3, phi3, gemma2, mamba, jlm";

    /**
     * Memory-maps {@code gguf} and builds the model; the file stays mapped until the model is closed.
     * Matrix products and attention run on {@code pool}.
     */
    public static LanguageModel load(Path gguf, ThreadPool pool) throws IOException {
        GGUFFile file = GGUFFile.open(gguf);
        try {
            LanguageModel m = load(WeightSource.of(file), pool, file);
            return m;
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    /** Builds a model from metadata and tensors held elsewhere (e.g. in memory); closing it closes nothing. */
    public static LanguageModel load(WeightSource source, ThreadPool pool) {
        return load(source, pool, null);
    }

    private static LanguageModel load(WeightSource source, ThreadPool pool, AutoCloseable resource) {
        String arch = source.metadata().getString("general.architecture");
        if (arch == null) {
            throw new ModelFormatException(source.name() + ": metadata 'general.architecture' is missing; expected one of "
                    + SUPPORTED);
        }
        if (arch.equals("mamba")) return MambaModel.load(source, pool).closing(resource);
        if (arch.equals("jlm")) return HybridModel.load(source, pool).closing(resource);
        ArchSpec spec = ArchSpec.forName(arch);
        if (spec != null) {
            return TransformerLoader.load(source, spec, pool).closing(resource);
        }
        throw new ModelFormatException(source.name() + ": unsupported architecture '" + arch
                + "' (general.architecture); supported: " + SUPPORTED);
    }
}
