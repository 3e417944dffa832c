package io.jlm.cli;

import io.jlm.tokenizers.BpeTokenizer;
import io.jlm.tokenizers.MergeFreeEncoder;
import io.jlm.tokenizers.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code jlm tokenizer compare -m VOCAB FILE}: token counts with and without the merge list. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Encodes a text file with a byte-level BPE vocabulary three ways (merge list, greedy longest match, "
                + "optimal fewest tokens) and prints the token counts.")
final class TokenizerCompareCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF file with a byte-level BPE (gpt2) vocabulary.")
    Path model;

    @Parameters(index = "0", paramLabel = "FILE", description = "UTF-8 text file.")
    Path file;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Tokenizer t = LoadedModel.tokenizer(model);
        if (!(t instanceof BpeTokenizer bpe)) {
            throw new IllegalArgumentException(model + ": vocabulary is not byte-level BPE (tokenizer.ggml.model must be gpt2)");
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        long bytes = text.getBytes(StandardCharsets.UTF_8).length;
        PrintWriter out = spec.commandLine().getOut();
        out.printf("%-10s %12s %12s %10s%n", "encoder", "tokens", "bytes/token", "vs merges");
        int[] merged = bpe.encode(text);
        row(out, "merges", merged.length, bytes, merged.length);
        for (MergeFreeEncoder.Mode mode : MergeFreeEncoder.Mode.values()) {
            MergeFreeEncoder e = new MergeFreeEncoder(bpe, mode);
            int[] ids = e.encode(text);
            if (!bpe.decode(ids).equals(text)) throw new IllegalStateException(mode + " encoding does not decode to the text");
            row(out, mode.name().toLowerCase(), ids.length, bytes, merged.length);
        }
        out.flush();
        return 0;
    }

    private static void row(PrintWriter out, String name, int tokens, long bytes, int base) {
        out.printf("%-10s %12d %12.4f %+9.2f%%%n", name, tokens, (double) bytes / tokens, 100.0 * (tokens - base) / base);
    }
}
