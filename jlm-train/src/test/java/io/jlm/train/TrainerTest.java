package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TrainerTest {
    static final ThreadPool POOL = new ThreadPool(2);
    @AfterAll static void close() { POOL.close(); }

    static final String TEXT = "the quick brown fox jumps over the lazy dog. ".repeat(40)
            + "pack my box with five dozen liquor jugs! ".repeat(40);

    static TrainConfig tiny(int iters) {
        return new TrainConfig(iters, 4, 3e-3, 3e-4, 5, iters, 0.9, 0.99, 0.1, 1.0, 1000, 4, 7, 2);
    }

    static Trainer trainer(ModelConfig.Arch arch, TrainConfig tc) {
        CharData d = new CharData(TEXT);
        ModelConfig mc = arch == ModelConfig.Arch.GPT ? ModelConfig.gpt(d.vocab(), 16, 2, 2, 16)
                : ModelConfig.llama(d.vocab(), 16, 2, 2, 16, 40);
        return new Trainer(new Model(mc, tc.seed()), tc, d.train, d.val, POOL);
    }

    @Test void lossDropsGptAndLlama() {
        for (ModelConfig.Arch arch : ModelConfig.Arch.values()) {
            Trainer tr = trainer(arch, tiny(80));
            double before = tr.trainLoss();
            for (int i = 0; i < 80; i++) tr.step();
            double after = tr.trainLoss();
            assertTrue(before > 3.0, arch + " initial loss " + before + " should be near ln(vocab)");
            assertTrue(after < before - 1.0, arch + ": loss " + before + " -> " + after + " did not drop by 1 nat");
        }
    }

    @Test void sophiaLossDropsAndResumesBitExactly(@TempDir Path dir) throws Exception {
        CharData d = new CharData(TEXT);
        ModelConfig mc = ModelConfig.gpt(d.vocab(), 16, 2, 2, 16);
        TrainConfig tc = tiny(80);
        java.util.function.Function<Model, Trainer> make = m -> new Trainer(m, tc, d.train, d.val, POOL,
                new Sophia(m.params(), 0.965, 0.99, 0.04, 0.1, 5, tc.batch() * mc.blockSize()));
        Trainer tr = make.apply(new Model(mc, tc.seed()));
        double before = tr.trainLoss();
        for (int i = 0; i < 80; i++) tr.step();
        double after = tr.trainLoss();
        assertTrue(after < before - 1.0, "Sophia: loss " + before + " -> " + after + " did not drop by 1 nat");

        Trainer full = make.apply(new Model(mc, tc.seed()));
        for (int i = 0; i < 12; i++) full.step();
        Trainer half = make.apply(new Model(mc, tc.seed()));
        for (int i = 0; i < 6; i++) half.step();
        half.save(dir.resolve("s.ckpt"));
        Trainer resumed = make.apply(new Model(mc, tc.seed()));
        resumed.load(dir.resolve("s.ckpt"));
        for (int i = 0; i < 6; i++) resumed.step();
        assertSameWeights(full, resumed);
    }

    @Test void sophiaUpdateMatchesFormula() {
        Tensor w = Tensor.zeros("w", 3, 1);
        w.data[0] = 1f; w.data[1] = -1f; w.data[2] = 0.5f;
        Sophia s = new Sophia(List.of(new Model.Param("w", w, true)), 0.9, 0.99, 0.5, 0.1, 10, 2);
        w.grad[0] = 2f; w.grad[1] = -0.001f; w.grad[2] = 0.3f;
        s.updateHessian();                       // h = 0.01 g^2
        w.grad[0] = 1f; w.grad[1] = -0.002f; w.grad[2] = 0.3f;
        s.step(0.1);                             // m = 0.1 g; ratio = min(|m| / (0.5*2*h), 1)
        double[] h = {0.01 * 4, 0.01 * 1e-6, 0.01 * 0.09}, g = {1, -0.002, 0.3}, w0 = {1, -1, 0.5};
        for (int i = 0; i < 3; i++) {
            double m = 0.1 * g[i], ratio = Math.min(Math.abs(m) / (1.0 * h[i] + 1e-15), 1);
            double ref = w0[i] * (1 - 0.1 * 0.1) - 0.1 * Math.signum(m) * ratio;
            assertEquals(ref, w.data[i], 1e-6, "w[" + i + "]");
        }
    }

    @Test void swanWhitensAndTrains(@TempDir Path dir) throws Exception {
        for (int[] shape : new int[][]{{8, 32}, {32, 8}}) {
            int rows = shape[0], cols = shape[1];
            Tensor w = Tensor.zeros("blk.0.attn_qkv", rows, cols);
            java.util.Random r = new java.util.Random(5);
            for (int i = 0; i < w.size(); i++) w.grad[i] = (float) (r.nextGaussian() * 3 + 1);
            Swan s = new Swan(List.of(new Model.Param(w.name, w, true)), 0.9, 0.99, 0.0, 30);
            float[] o = new float[w.size()];
            s.whiten(w.grad, rows, cols, o);
            // left whitening: O O^T / cols = I (rows <= cols); right: O^T O / rows = I - 11^T / cols, the
            // projection off the all-ones direction that GradNorm's zero row means remove from G^T G
            int k = Math.min(rows, cols), n = Math.max(rows, cols);
            for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) {
                double dot = 0;
                for (int q = 0; q < n; q++)
                    dot += rows <= cols ? (double) o[i * cols + q] * o[j * cols + q] : (double) o[q * cols + i] * o[q * cols + j];
                double expect = (i == j ? 1.0 : 0.0) - (rows <= cols ? 0.0 : 1.0 / cols);
                assertEquals(expect, dot / n, 0.02, rows + "x" + cols + " whitened Gram[" + i + "," + j + "]");
            }
        }
        CharData d = new CharData(TEXT);
        ModelConfig mc = ModelConfig.gpt(d.vocab(), 16, 2, 2, 16);
        TrainConfig tc = tiny(80);
        Model m = new Model(mc, tc.seed());
        Trainer tr = new Trainer(m, tc, d.train, d.val, POOL, new Swan(m.params(), 0.9, 0.99, 0.1, 10, POOL));
        double before = tr.trainLoss();
        for (int i = 0; i < 80; i++) tr.step();
        double after = tr.trainLoss();
        assertTrue(after < before - 1.0, "SWAN: loss " + before + " -> " + after + " did not drop by 1 nat");
    }

    static void assertSameWeights(Trainer a, Trainer b) {
        List<Model.Param> pa = a.model.params(), pb = b.model.params();
        for (int i = 0; i < pa.size(); i++)
            assertArrayEquals(pa.get(i).tensor().data, pb.get(i).tensor().data, pa.get(i).name());
    }

    @Test void deterministicAndResumableBitExactly(@TempDir Path dir) throws Exception {
        int n = 10;
        Trainer full = trainer(ModelConfig.Arch.GPT, tiny(n));
        for (int i = 0; i < n; i++) full.step();
        Trainer again = trainer(ModelConfig.Arch.GPT, tiny(n));
        for (int i = 0; i < n; i++) again.step();
        assertSameWeights(full, again);

        Trainer first = trainer(ModelConfig.Arch.GPT, tiny(n));
        for (int i = 0; i < n / 2; i++) first.step();
        Path ck = dir.resolve("ckpt.bin");
        first.save(ck);
        try (var files = Files.list(dir)) { assertEquals(List.of(ck), files.toList(), "temp file left behind"); }
        Trainer resumed = trainer(ModelConfig.Arch.GPT, tiny(n));
        resumed.load(ck);
        assertEquals(n / 2, resumed.iter());
        for (int i = 0; i < n / 2; i++) resumed.step();
        assertSameWeights(full, resumed);
        // and the half-trained model really differs from the full one (the comparison can fail)
        assertNotEquals(full.model.params().get(0).tensor().data[0], first.model.params().get(0).tensor().data[0]);
    }

    @Test void hybridTrainingIsDeterministic() {
        CharData d = new CharData(TEXT);
        ModelConfig mc = ModelConfig.hybrid(d.vocab(), 16, 2, 16, 24, MixerConfig.of("AFLRSHMW", 2, 16).withWindow(4)
                .withSsm(4, 3, 32, 3, 8, 2));
        Trainer[] runs = new Trainer[2];
        for (int run = 0; run < 2; run++) {
            TrainConfig tc = tiny(12);
            runs[run] = new Trainer(new Model(mc, tc.seed()), tc, d.train, d.val, POOL);
            for (int i = 0; i < 12; i++) runs[run].step();
        }
        assertSameWeights(runs[0], runs[1]);
    }

    @Test void checkpointOfOtherModelIsRejected(@TempDir Path dir) throws Exception {
        Trainer a = trainer(ModelConfig.Arch.GPT, tiny(2));
        a.save(dir.resolve("c"));
        Trainer b = trainer(ModelConfig.Arch.LLAMA, tiny(2));
        var e = assertThrows(java.io.IOException.class, () -> b.load(dir.resolve("c")));
        assertTrue(e.getMessage().contains("parameter"), e.getMessage());
    }

    @Test void schedules() {
        Schedule s = Schedule.warmupCosine(1e-3, 1e-4, 100, 2000);
        assertEquals(1e-3 * 1 / 101, s.lr(0), 1e-12);
        assertEquals(1e-3, s.lr(100), 1e-12);
        assertEquals((1e-3 + 1e-4) / 2, s.lr(1050), 1e-12);
        assertEquals(1e-4, s.lr(2000), 1e-12);
        assertEquals(1e-4, s.lr(3000), 1e-12);
        Schedule c = Schedule.constantWithCooldown(1e-3, 0, 10, 100, 1000);
        assertEquals(1e-3, c.lr(500), 1e-12);
        assertEquals(5e-4, c.lr(950), 1e-12);
        assertEquals(0, c.lr(1000), 1e-12);
    }

    @Test void adamWFirstStepsMatchFormula() {
        Tensor w = Tensor.zeros("w", 2, 1);
        w.data[0] = 1f; w.data[1] = -2f;
        AdamW opt = new AdamW(List.of(new Model.Param("w", w, true)), 0.9, 0.99, 1e-8, 0.1);
        double[] ref = {1, -2}, m = new double[2], v = new double[2];
        double[] g = {0.5, -3};
        for (int t = 1; t <= 3; t++) {
            for (int i = 0; i < 2; i++) w.grad[i] = (float) (g[i] * t);
            opt.step(1e-2);
            for (int i = 0; i < 2; i++) {
                double gi = g[i] * t;
                m[i] = 0.9 * m[i] + 0.1 * gi; v[i] = 0.99 * v[i] + 0.01 * gi * gi;
                ref[i] = ref[i] * (1 - 1e-2 * 0.1) - 1e-2 * (m[i] / (1 - Math.pow(0.9, t))) / (Math.sqrt(v[i] / (1 - Math.pow(0.99, t))) + 1e-8);
                assertEquals(ref[i], w.data[i], 1e-6, "step " + t + " w[" + i + "]");
            }
        }
    }

    @Test void gradClip() {
        Tensor w = Tensor.zeros("w", 2);
        w.grad[0] = 3; w.grad[1] = 4;
        double n = AdamW.clipGradNorm(List.of(new Model.Param("w", w, false)), 1.0);
        assertEquals(5, n, 1e-9);
        assertEquals(0.6, w.grad[0], 1e-6);
        assertEquals(0.8, w.grad[1], 1e-6);
    }

    @Test void initStdSetsTheSpreadOfEveryProjection() {
        ModelConfig mc = ModelConfig.hybrid(40, 16, 2, 32, 64, MixerConfig.of("AFM", 2, 32));
        Model base = new Model(mc, 5), same = new Model(mc, 5, Model.DEFAULT_INIT_STD), wide = new Model(mc, 5, 0.1f);
        for (Model.Param p : base.params())
            assertArrayEquals(p.tensor().data, same.get(p.name()).data, p.name() + ": the default is GPT-2's 0.02");
        // expected spread of each tensor: output projections get std / sqrt(3 sublayers); Mamba's input projection the std
        java.util.Map<String, Double> expect = java.util.Map.of("tok_embd", 0.1, "blk.0.attn_qkv", 0.1, "blk.1.ffn_up", 0.1,
                "blk.2.ssm_in", 0.1, "blk.0.attn_output", 0.1 / Math.sqrt(3), "blk.1.ffn_down", 0.1 / Math.sqrt(3));
        expect.forEach((name, want) -> {
            double got = rms(wide.get(name).data), was = rms(base.get(name).data);
            assertEquals(want, got, 0.1 * want, name);
            assertEquals(5.0, got / was, 0.25, name + " scales with the std");
        });
        assertThrows(IllegalArgumentException.class, () -> new Model(mc, 5, 0f));
        assertThrows(IllegalArgumentException.class, () -> new Model(mc, 5, Float.NaN));
    }

    private static double rms(float[] a) {
        double s = 0;
        for (float x : a) s += (double) x * x;
        return Math.sqrt(s / a.length);
    }
}
