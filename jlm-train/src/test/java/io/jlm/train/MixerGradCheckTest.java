package io.jlm.train;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static io.jlm.train.GradCheckTest.check;
import static io.jlm.train.GradCheckTest.rand;
import static org.junit.jupiter.api.Assertions.*;

/** Finite-difference checks of the token-mixer ops ({@link MixerOps}, GQA/window/ALiBi attention) and of hybrid models. */
class MixerGradCheckTest {

    static Tensor scaled(Tensor t, float s) { for (int i = 0; i < t.size(); i++) t.data[i] *= s; return t; }

    @Test void groupedWindowedAlibiAttention() {
        Random r = new Random(21);
        int batch = 2, t = 6, heads = 4, kv = 2, hs = 3;
        Tensor qkv = rand("qkv", r, batch * t, (heads + 2 * kv) * hs);
        check(List.of(qkv), g -> g.attention(qkv, batch, t, heads, kv, 0, null));
        check(List.of(qkv), g -> g.attention(qkv, batch, t, heads, kv, 3, null));
        check(List.of(qkv), g -> g.attention(qkv, batch, t, heads, kv, 0, Graph.alibiSlopes(heads)));
    }

    @Test void ropeWithPositionInterpolation() {
        Random r = new Random(22);
        Tensor x = rand("x", r, 2 * 6, 12);
        check(List.of(x), g -> g.rope(x, 6, 4, 8, 10000f, 0.25f));
    }

    @Test void maskedCrossEntropyIgnoresUnscoredRows() {
        Random r = new Random(23);
        Tensor logits = rand("logits", r, 6, 9);
        int[] tg = {-1, 8, -1, 3, 5, -1};
        check(List.of(logits), g -> g.crossEntropy(logits, tg));
        Graph g = new Graph(GradCheckTest.POOL);
        Tensor loss = g.crossEntropy(logits, tg);
        g.forward();
        double expect = 0;
        for (int row : new int[]{1, 3, 4}) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < 9; j++) max = Math.max(max, logits.data[row * 9 + j]);
            for (int j = 0; j < 9; j++) sum += Math.exp(logits.data[row * 9 + j] - max);
            expect += Math.log(sum) + max - logits.data[row * 9 + tg[row]];
        }
        assertEquals(expect / 3, loss.data[0], 1e-5);
    }

    @Test void sliceSoftplus() {
        Random r = new Random(24);
        Tensor x = rand("x", r, 5, 11);
        check(List.of(x), g -> new MixerOps(g).softplus(new MixerOps(g).sliceCols(x, 3, 6)));
    }

    @Test void linearAttentionAndRetention() {
        Random r = new Random(25);
        int batch = 2, t = 5, heads = 2, d = 6;
        Tensor qkv = scaled(rand("qkv", r, batch * t, 3 * d), 0.7f);
        check(List.of(qkv), g -> new MixerOps(g).linearAttention(qkv, batch, t, heads, new float[]{1f, 1f}, true, 1f, 1e-5f));
        check(List.of(qkv), g -> new MixerOps(g).linearAttention(qkv, batch, t, heads, MixerOps.retentionDecays(heads),
                false, 0.5f, 1e-5f));
    }

    @Test void causalConvolution() {
        Random r = new Random(26);
        int batch = 2, t = 5;
        Tensor x = rand("x", r, batch * t, 3), w = rand("w", r, 3, 4), b = rand("b", r, 3);
        check(List.of(x, w, b), g -> new MixerOps(g).causalConv(x, w, b, batch, t));
    }

    @Test void s4dKernel() {
        Random r = new Random(27);
        int c = 3, n = 4, t = 7;
        Tensor logDt = Tensor.zeros("log_dt", c), aLog = scaled(rand("a_log", r, c, n), 0.3f),
                aIm = rand("a_im", r, c, n), cRe = rand("c_re", r, c, n), cIm = rand("c_im", r, c, n);
        for (int i = 0; i < c; i++) logDt.data[i] = (float) Math.log(0.05 + 0.1 * i);
        check(List.of(logDt, aLog, aIm, cRe, cIm), g -> new MixerOps(g).s4dKernel(logDt, aLog, aIm, cRe, cIm, t), 1e-3);
    }

    @Test void fftLongConvolutionMatchesDirectSum() {
        Random r = new Random(28);
        int batch = 2, t = 9, c = 3;
        Tensor u = rand("u", r, batch * t, c), k = rand("k", r, c, t), d = rand("d", r, c);
        check(List.of(u, k, d), g -> new MixerOps(g).longConv(u, k, d, batch, t));
        Graph g = new Graph(GradCheckTest.POOL);
        Tensor y = new MixerOps(g).longConv(u, k, d, batch, t);
        g.forward();
        for (int b = 0; b < batch; b++) for (int i = 0; i < t; i++) for (int ch = 0; ch < c; ch++) {
            double s = d.data[ch] * u.data[(b * t + i) * c + ch];
            for (int j = 0; j <= i; j++) s += k.data[ch * t + j] * u.data[(b * t + i - j) * c + ch];
            assertEquals(s, y.data[(b * t + i) * c + ch], 1e-4 * (1 + Math.abs(s)));
        }
    }

    @Test void selectiveScan() {
        selectiveScan(2, 3);
        selectiveScan(3, Graph.L + 2);   // a full vector of channels and a masked tail
    }

    static void selectiveScan(int ds, int di) {
        Random r = new Random(29);
        int batch = 2, t = 5, off = 1;
        Tensor x = rand("x", r, batch * t, di), aLog = scaled(rand("a_log", r, di, ds), 0.5f),
                bc = rand("bc", r, batch * t, off + 2 * ds), d = rand("d", r, di);
        Tensor dt = Tensor.zeros("dt", batch * t, di);
        for (int i = 0; i < dt.size(); i++) dt.data[i] = 0.1f + 0.8f * r.nextFloat();
        check(List.of(x, dt, aLog, bc, d), g -> new MixerOps(g).selectiveScan(x, dt, aLog, bc, off, d, batch, t));
    }

    @Test void hybridModelsEveryLetter() {
        for (String pattern : new String[]{"AFWF", "LFRF", "SFHF", "MF"}) {
            for (MixerConfig.Position pos : pattern.startsWith("A") ? MixerConfig.Position.values()
                    : new MixerConfig.Position[]{MixerConfig.Position.ROPE}) {
                MixerConfig mx = MixerConfig.of(pattern, 2, 8).withWindow(3).withKvHeads(1).withPosition(pos)
                        .withSsm(3, 3, 12, 3, 4, 2);
                GradCheckTest.checkWholeModel(ModelConfig.hybrid(11, 6, 2, 8, 16, mx), false, null);
            }
        }
    }
}
