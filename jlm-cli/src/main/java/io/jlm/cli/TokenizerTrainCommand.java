package io.jlm.cli;

import io.jlm.tokenizers.BpeTokenizer;
import io.jlm.tokenizers.BpeTrainer;
import io.jlm.tokenizers.TrainedBpe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code jlm tokenizer train -o VOCAB.gguf [--vocab-size N] FILES...}: trains a byte-level BPE vocabulary. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Trains a byte-level BPE vocabulary on text files and writes it as a vocabulary-only GGUF file "
                + "(tokenizer.ggml.model gpt2) and optionally a Hugging Face tokenizer.json.")
final class TokenizerTrainCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "UTF-8 training text files.")
    List<Path> files;

    @Option(names = {"-o", "--output"}, required = true, description = "Output GGUF file.")
    Path output;

    @Option(names = "--vocab-size", defaultValue = "8000", description = "Target vocabulary size, special tokens included (default ${DEFAULT-VALUE}).")
    int vocabSize;

    @Option(names = "--special", description = "Special token (repeatable; default <|endoftext|>); the first is BOS and EOS.")
    List<String> specials;

    @Option(names = "--pre", defaultValue = "gpt-2", description = "Pre-tokenizer (llama.cpp tokenizer.ggml.pre name; default ${DEFAULT-VALUE}).")
    String pre;

    @Option(names = "--min-frequency", defaultValue = "2", description = "Never merge a pair seen fewer times (default ${DEFAULT-VALUE}).")
    int minFrequency;

    @Option(names = "--hf-json", description = "Also write a Hugging Face tokenizer.json here (gpt-2 pre-tokenizer only).")
    Path hfJson;

    @Option(names = "--name", description = "general.name of the GGUF file (default: the output file name).")
    String name;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        List<String> sp = specials == null || specials.isEmpty() ? List.of("<|endoftext|>") : specials;
        BpeTrainer trainer = new BpeTrainer(vocabSize, sp, pre, minFrequency);
        long t0 = System.nanoTime();
        long bytes = 0;
        for (Path f : files) {
            if (!Files.isRegularFile(f)) throw new IllegalArgumentException(f + ": no such file");
            String text = Files.readString(f, StandardCharsets.UTF_8);
            bytes += text.getBytes(StandardCharsets.UTF_8).length;
            trainer.add(text);
        }
        long t1 = System.nanoTime();
        TrainedBpe bpe = trainer.train();
        long t2 = System.nanoTime();
        String n = name != null ? name : output.getFileName().toString().replaceFirst("\\.gguf$", "");
        bpe.writeGGUF(output, n);
        if (hfJson != null) bpe.writeHuggingFaceJson(hfJson);
        // compression on the first file, for orientation
        BpeTokenizer tok = bpe.tokenizer();
        String first = Files.readString(files.get(0), StandardCharsets.UTF_8);
        int tokens = tok.encode(first).length;
        err.printf("trained %d tokens (%d merges) on %,d bytes, %,d distinct words: counting %.2f s, merging %.2f s%n",
                bpe.size(), bpe.merges().length, bytes, bpe.distinctWords(), (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        err.printf("%s: %,d tokens, %.3f bytes/token%n", files.get(0).getFileName(), tokens,
                (double) first.getBytes(StandardCharsets.UTF_8).length / tokens);
        err.printf("wrote %s%s%n", output, hfJson != null ? " and " + hfJson : "");
        err.flush();
        return 0;
    }
}
