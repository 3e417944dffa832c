package io.jlm.tokenizers;

import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;

import java.io.IOException;
import java.nio.file.Path;

/** Creates the right {@link Tokenizer} for a GGUF file's {@code tokenizer.ggml.model}. */
public final class Tokenizers {

    /** The {@code tokenizer.ggml.model} values supported. */
    public static final java.util.List<String> SUPPORTED_MODELS = java.util.List.of("llama", "gpt2");

    private Tokenizers() {}

    /**
     * The tokenizer described by GGUF metadata: {@code "llama"} gives a {@link SentencePieceTokenizer},
     * {@code "gpt2"} a {@link BpeTokenizer}.
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
            case "gpt2" -> BpeTokenizer.fromGGUF(md, sourceOf(md));
            default -> throw new IllegalArgumentException("unsupported tokenizer model 'tokenizer.ggml.model' = '" + model
                    + "'; supported: " + SUPPORTED_MODELS + " (SentencePiece \"llama\", byte-level BPE \"gpt2\")");
        };
    }

    private static String sourceOf(GGUFMetadata md) {
        String name = md.getString("general.name", null);
        return name == null ? "GGUF metadata" : "GGUF metadata of '" + name + "'";
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
}
