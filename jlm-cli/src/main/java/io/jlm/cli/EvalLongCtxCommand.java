package io.jlm.cli;

import io.jlm.eval.LongContextEval;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jlm eval longctx}: KV-cache policies on one model (see docs/LONG_CONTEXT.md). */
@Command(name = "longctx", mixinStandardHelpOptions = true,
        description = "KV cache policies on one model: perplexity vs full cache, perplexity by position, passkey retrieval, "
                + "memory and decode speed vs context, streaming generation. Writes report.md and PNG plots.")
final class EvalLongCtxCommand implements Callable<Integer> {
    /** Splits "a;b;c" (policies contain commas, so they are separated by semicolons). */
    static List<String> policies(String s) {
        List<String> r = new ArrayList<>();
        if (s == null || s.isBlank()) return r;
        for (String p : s.split(";")) if (!p.isBlank()) r.add(p.trim());
        return r;
    }

    static int[] ints(String s) {
        if (s == null || s.isBlank()) return new int[0];
        return Arrays.stream(s.split(",")).map(String::trim).mapToInt(v -> {
            String t = v.toLowerCase(Locale.ROOT);
            return t.endsWith("k") ? Integer.parseInt(t.substring(0, t.length() - 1)) * 1024 : Integer.parseInt(t);
        }).toArray();
    }

    @Spec
    CommandSpec spec;
    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = "--corpus", defaultValue = "../shared/corpora/state-of-the-union.txt", description = "Text for perplexity (default ${DEFAULT-VALUE}).")
    Path corpus;
    @Option(names = {"-o", "--out"}, defaultValue = "longctx-out", description = "Output directory (default ${DEFAULT-VALUE}).")
    Path out;
    @Option(names = {"-t", "--threads"}, defaultValue = "1", description = "Threads (default ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--policies", defaultValue = "full;f32;q8_0;q4_0;think:ratio=0.5;window:%B;sink:4,window:%W;sink:4,window:%W,lminf;h2o:budget=%B;a2sf:budget=%B,forget=0.95;keyformer:budget=%B,tau=1",
            description = "Policies separated by ';' (first = reference). %%B = budget positions, %%W = %%B - 4.")
    String policies;
    @Option(names = "--budget", defaultValue = "0.2", description = "Budget of bounded policies, fraction of the experiment length (default ${DEFAULT-VALUE}).")
    double budget;
    @Option(names = "--chunk", defaultValue = "1", description = "Forward chunk of bounded policies (eviction between chunks; default ${DEFAULT-VALUE}).")
    int chunk;
    @Option(names = "--ppl-tokens", defaultValue = "512", description = "Tokens per perplexity segment (0 = skip).")
    int pplTokens;
    @Option(names = "--ppl-segments", defaultValue = "8", description = "Perplexity segments.")
    int pplSegments;
    @Option(names = "--curve-policies", defaultValue = "full;sink:4,window:252;window:256;sink:4,window:252,lminf",
            description = "Policies of the perplexity-by-position curve (';' separated).")
    String curvePolicies;
    @Option(names = "--curve-tokens", defaultValue = "2048", description = "Tokens of the perplexity curve (0 = skip).")
    int curveTokens;
    @Option(names = "--curve-bucket", defaultValue = "128", description = "Positions per curve point.")
    int curveBucket;
    @Option(names = "--passkey-lengths", defaultValue = "128,256,512,1024", description = "Passkey prompt lengths ('' = skip).")
    String passkeyLengths;
    @Option(names = "--passkey-trials", defaultValue = "10", description = "Passkey trials per length.")
    int passkeyTrials;
    @Option(names = "--speed-policies", defaultValue = "full;q8_0;q4_0;sink:4,window:252;h2o:budget=%B,chunk=64;think:ratio=0.5",
            description = "Policies of the memory/speed curve (';' separated).")
    String speedPolicies;
    @Option(names = "--speed-lengths", defaultValue = "1k,2k,4k,8k", description = "Context lengths of the memory/speed curve ('' = skip).")
    String speedLengths;
    @Option(names = "--speed-decode", defaultValue = "64", description = "Timed decode steps per length.")
    int speedDecode;
    @Option(names = "--speed-fill", defaultValue = "prefill",
            description = "How the speed curve reaches length L: prefill (run the model over L tokens) or random (write L "
                    + "positions of random keys/values into the cache; same decode work, no prefill time).")
    String speedFill;
    @Option(names = "--stream-policies", defaultValue = "sink:4,window:252;full", description = "Policies of the streaming run (';' separated).")
    String streamPolicies;
    @Option(names = "--stream-tokens", defaultValue = "65536,16384", description = "Positions generated per streaming policy ('' = skip).")
    String streamTokens;
    @Option(names = "--stream-bucket", defaultValue = "2048", description = "Positions per streaming measurement.")
    int streamBucket;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the passkey prompts.")
    long seed;

    private static boolean randomFill(String fill) {
        return switch (fill) {
            case "prefill" -> false;
            case "random" -> true;
            default -> throw new IllegalArgumentException("--speed-fill must be prefill or random, got " + fill);
        };
    }

    @Override
    public Integer call() throws Exception {
        try (LoadedModel lm = LoadedModel.open(model, threads)) {
            int[] text = lm.tokenizer.encode(Files.readString(corpus));
            LongContextEval.Options o = new LongContextEval.Options(policies(policies), budget, chunk, pplTokens,
                    pplSegments, policies(curvePolicies), curveTokens, curveBucket, ints(passkeyLengths),
                    passkeyTrials, policies(speedPolicies), ints(speedLengths), speedDecode, randomFill(speedFill),
                    policies(streamPolicies), ints(streamTokens), streamBucket, seed);
            String title = "Long-context KV policies: " + model.getFileName() + " (" + lm.model.config().name()
                    + ", trained context " + lm.model.config().contextLength() + ", " + threads + " threads)";
            String md = new LongContextEval(lm.model, lm.tokenizer, text, o, System.err).run(out, title);
            spec.commandLine().getOut().println(md);
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
