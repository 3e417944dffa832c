package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;

/** Creates the right {@link Tokenizer} for a GGUF file's {@code tokenizer.ggml.model}. */
public final class Tokenizers {

    /** The {@code tokenizer.ggml.model} values supported. */
    public static final java.util.List<String> SUPPORTED_MODELS = java.util.List.of("llama", "gpt2");

    private Tokenizers() {}

    /**
     * The tokenizer described by GGUF metadata: {@code "llama"} gives a {@link SentencePieceTokenizer},
     * {@code "gpt2"} a byte-level BPE tokenizer.
     * @throws IllegalArgumentException for a missing or unsupported {@code tokenizer.ggml.model}
     */
    public static Tokenizer fromGGUF(GGUFMetadata md) {
        String model = md.getString("tokenizer.ggml.model");
        if (model == null) {
            throw new IllegalArgumentException("GGUF metadata has no 'tokenizer.ggml.model'; expected one of "
                    + SUPPORTED_MODELS + " (the file carries no tokenizer)");
        }
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(md);
            case "gpt2" -> newBpe(md);
            default -> throw new IllegalArgumentException("unsupported tokenizer model 'tokenizer.ggml.model' = '" + model
                    + "'; supported: " + SUPPORTED_MODELS + " (SentencePiece \"llama\", byte-level BPE \"gpt2\")");
        };
    }

    /** Opens a GGUF file and builds its tokenizer (the file is closed again; tokenizers copy what they need). */
    public static Tokenizer fromGGUF(Path path) throws IOException {
        try (GGUFFile f = GGUFFile.open(path)) {
            try {
                return fromGGUF(f.metadata());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
            }
        }
    }

    private static Tokenizer newBpe(GGUFMetadata md) {
        // BpeTokenizer lives in this package once the byte-level BPE implementation is merged
        try {
            Class<?> c = Class.forName("io.jlm.tokenizers.BpeTokenizer");
            return (Tokenizer) c.getConstructor(GGUFMetadata.class).newInstance(md);
        } catch (ClassNotFoundException e) {
            throw new UnsupportedOperationException("byte-level BPE tokenizer ('tokenizer.ggml.model' = 'gpt2') is not "
                    + "available in this build (class io.jlm.tokenizers.BpeTokenizer missing)", e);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("io.jlm.tokenizers.BpeTokenizer has no public constructor (GGUFMetadata)", e);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
