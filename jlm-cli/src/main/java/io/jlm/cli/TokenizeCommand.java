package io.jlm.cli;

import io.jlm.tokenizers.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code jlm tokenize -m MODEL [--no-bos] TEXT}: prints the token ids, separated by single spaces, on one line.
 * External tools parse this output: keep its form exactly.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Prints the token ids of TEXT on one line, separated by single spaces (special tokens are parsed).")
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF file with a vocabulary.")
    Path model;

    @Option(names = "--no-bos", description = "Do not add the BOS token (otherwise added if the vocabulary asks for it).")
    boolean noBos;

    @Parameters(index = "0", paramLabel = "TEXT", description = "Text to tokenize.")
    String text;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Tokenizer tok = LoadedModel.tokenizer(model);
        int[] ids = tok.encode(text, !noBos, true);
        StringBuilder b = new StringBuilder(ids.length * 6);
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) b.append(' ');
            b.append(ids[i]);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(b);
        out.print('\n');
        out.flush();
        return 0;
    }
}
