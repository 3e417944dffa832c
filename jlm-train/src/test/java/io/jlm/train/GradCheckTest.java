package io.jlm.train;

import io.jlm.core.parallel.ThreadPool;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/** Every op's backward against central finite differences of its forward (loss = sum(out * random weights)). */
class GradCheckTest {
    /** Shared with {@link MixerGradCheckTest}; a daemon pool that is never closed. */
    static final ThreadPool POOL = ThreadPool.shared(2);

    static Tensor rand(String name, Random r, int... shape) {
        Tensor t = Tensor.zeros(name, shape);
        for (int i = 0; i < t.size(); i++) t.data[i] = (float) r.nextGaussian();
        return t;
    }

    /** Builds out = f(graph), loss = weightedSum(out), checks d loss / d input for every input. */
    static void check(List<Tensor> inputs, Function<Graph, Tensor> f) { check(inputs, f, 1e-2); }

    /** Central differences with step {@code eps}; |numeric - analytic| must be within 2e-3 * max(1, |numeric|). */
    static void check(List<Tensor> inputs, Function<Graph, Tensor> f, double eps) {
        Random r = new Random(7);
        Graph g = new Graph(POOL);
        Tensor out = f.apply(g);
        float[] w = new float[out.size()];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        Tensor loss = out.size() == 1 && out.name.equals("loss") ? out : g.weightedSum(out, w);
        g.forward();
        for (Tensor t : inputs) t.zeroGrad();
        g.backward(loss);
        double worst = 0;
        for (Tensor t : inputs) {
            int n = Math.min(t.size(), 40);
            for (int s = 0; s < n; s++) {
                int i = t.size() <= 40 ? s : r.nextInt(t.size());
                float orig = t.data[i];
                t.data[i] = (float) (orig + eps); g.forward(); double lp = loss.data[0];
                t.data[i] = (float) (orig - eps); g.forward(); double lm = loss.data[0];
                t.data[i] = orig;
                double num = (lp - lm) / (2 * eps), ana = t.grad[i];
                worst = Math.max(worst, Math.abs(num - ana) / Math.max(1, Math.abs(num)));
                assertEquals(num, ana, 2e-3 * Math.max(1, Math.abs(num)),
                        "d loss / d " + t.name + "[" + i + "]");
            }
        }
        System.out.printf("grad check %-10s worst |num - ana| / max(1, |num|) = %.1e%n", out.name, worst);
    }

    @Test void matmulKernelMatchesNaive() {
        Random r = new Random(1);
        for (int[] d : new int[][]{{7, 70, 5}, {9, 130, 33}, {4, 64, 3}, {1, 17, 8}, {12, 200, 16}, {23, 48, 40}, {5, 16, 1}}) {
            int m = d[0], n = d[1], k = d[2];
            float[] a = new float[m * k], b = new float[k * n], c = new float[m * n], c2 = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
            for (int i = 0; i < c.length; i++) c[i] = c2[i] = (float) r.nextGaussian();
            for (boolean trans : new boolean[]{false, true}) {
                // trans: a read as A^T of a [k,m] array
                new Matmul(POOL).set(a, trans ? 1 : k, trans ? m : 1, b, c, m, n, k, true).run();
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
                    double s = c2[i * n + j];
                    for (int kk = 0; kk < k; kk++) s += (double) a[trans ? kk * m + i : i * k + kk] * b[kk * n + j];
                    c2[i * n + j] = (float) s;
                    assertEquals(s, c[i * n + j], 1e-4 * (1 + Math.abs(s)), "C[" + i + "," + j + "] " + m + "x" + n + "x" + k);
                }
            }
        }
    }

    /**
     * Every register tile, threaded or not, accumulating or not, gives exactly the bits of the plain loop
     * {@code s = fma(a[i,kk], b[kk,j], s)} over kk from C's old value (or 0): training stays bit-reproducible
     * whichever tile the machine's vector width selects.
     */
    @Test void everyMatmulTileGivesTheBitsOfTheSequentialFmaLoop() {
        Random r = new Random(11);
        for (int[] d : new int[][]{{11, 70, 9}, {6, 16, 130}, {20, 128, 7}, {3, 5, 2}, {1, 1, 1}, {0, 9, 4}, {4, 9, 0}}) {
            int m = d[0], n = d[1], k = d[2];
            float[] a = new float[m * k], b = new float[k * n], c0 = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
            for (int i = 0; i < c0.length; i++) c0[i] = (float) r.nextGaussian();
            for (boolean trans : new boolean[]{false, true}) for (boolean acc : new boolean[]{false, true}) {
                float[] want = new float[m * n];
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
                    float s = acc ? c0[i * n + j] : 0f;
                    for (int kk = 0; kk < k; kk++) s = Math.fma(a[trans ? kk * m + i : i * k + kk], b[kk * n + j], s);
                    want[i * n + j] = s;
                }
                // the same B stored transposed ([n,k]) and C inside a wider matrix at an offset
                float[] bt = new float[k * n];
                transpose(b, k, n, bt);
                int ldc = n + 3, co = 2;
                for (Matmul.Tile tile : Matmul.Tile.values()) for (ThreadPool pool : new ThreadPool[]{POOL, null}) {
                    String what = tile + " pool " + (pool != null) + " trans " + trans + " acc " + acc + " " + m + "x" + n + "x" + k;
                    float[] c = c0.clone();
                    Matmul mm = new Matmul(pool, tile);
                    mm.set(new float[3], 1, 1, new float[3], new float[3], 1, 1, 3, false).run();   // reused with a new shape
                    mm.set(a, trans ? 1 : k, trans ? m : 1, b, c, m, n, k, acc).run();
                    assertArrayEquals(want, c, what);
                    float[] wide = new float[co + Math.max(0, m * ldc)];
                    for (int i = 0; i < m; i++) System.arraycopy(c0, i * n, wide, co + i * ldc, n);
                    mm.set(a, 0, trans ? 1 : k, trans ? m : 1, bt, 0, 1, k, wide, co, ldc, m, n, k, acc).run();
                    for (int i = 0; i < m; i++)
                        assertArrayEquals(Arrays.copyOfRange(want, i * n, i * n + n), Arrays.copyOfRange(wide, co + i * ldc, co + i * ldc + n),
                                "transposed B, strided C: " + what);
                }
            }
        }
    }

    /** {@code dst[c][r] = src[r][c]} for a rows×cols row-major {@code src}. */
    private static void transpose(float[] src, int rows, int cols, float[] dst) {
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
    }

    /** Declared triangles skip only work whose products are zero (or whose outputs are not wanted): same bits. */
    @Test void triangularMatmulsGiveTheBitsOfTheFullProduct() {
        Random r = new Random(12);
        for (int[] d : new int[][]{{64, 32, 64}, {64, 64, 32}, {21, 18, 21}, {9, 40, 9}}) {
            int m = d[0], n = d[1], k = d[2];
            for (Matmul.Triangle tri : Matmul.Triangle.values()) for (boolean acc : new boolean[]{false, true}) {
                float[] a = new float[m * k], b = new float[k * n], c0 = new float[m * n];
                for (int i = 0; i < m; i++) for (int kk = 0; kk < k; kk++) {
                    boolean zero = tri == Matmul.Triangle.A_LOWER && kk > i || tri == Matmul.Triangle.A_UPPER && kk < i;
                    a[i * k + kk] = zero ? 0f : (float) r.nextGaussian();
                }
                for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
                for (int i = 0; i < c0.length; i++) c0[i] = (float) r.nextGaussian();
                float[] want = c0.clone();
                new Matmul(null).set(a, k, 1, b, want, m, n, k, acc).run();
                for (Matmul.Tile tile : Matmul.Tile.values()) {
                    float[] got = c0.clone();
                    new Matmul(POOL, tile).set(a, k, 1, b, got, m, n, k, acc).triangle(tri).run();
                    for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
                        if (tri == Matmul.Triangle.C_LOWER && j > i) continue;
                        assertEquals(want[i * n + j], got[i * n + j], 0f, tri + " " + tile + " acc " + acc + " C[" + i + "," + j + "]");
                    }
                    int width = tile.vecs * Matmul.L, lastPanel = (n - 1) / width * width;
                    if (tri == Matmul.Triangle.C_LOWER && lastPanel > Matmul.MR - 1)   // row block 0 x the last panel: skipped
                        assertEquals(c0[n - 1], got[n - 1], 0f, tile + ": C[0," + (n - 1) + "] above the diagonal was computed");
                }
            }
        }
    }

    @Test void linear() {
        Random r = new Random(2);
        Tensor x = rand("x", r, 6, 20), w = rand("w", r, 35, 20), b = rand("b", r, 35);
        check(List.of(x, w, b), g -> g.linear(x, w, b));
    }

    @Test void bmmAllTransposes() {
        Random r = new Random(3);
        for (boolean ta : new boolean[]{false, true}) for (boolean tb : new boolean[]{false, true}) {
            Tensor a = ta ? rand("a", r, 2, 5, 3) : rand("a", r, 2, 3, 5);
            Tensor b = tb ? rand("b", r, 2, 4, 5) : rand("b", r, 2, 5, 4);
            check(List.of(a, b), g -> g.bmm(a, ta, b, tb));
        }
    }

    @Test void embeddingAddBiasMul() {
        Random r = new Random(4);
        Tensor table = rand("table", r, 5, 6), bias = rand("bias", r, 6), y = rand("y", r, 7, 6);
        int[] ids = {0, 3, 3, 4, 1, 0, 2};
        check(List.of(table, bias, y), g -> g.mul(g.addBias(g.add(g.embedding(table, ids), y), bias), y));
    }

    @Test void geluSilu() {
        Random r = new Random(5);
        Tensor x = rand("x", r, 3, 37);
        check(List.of(x), g -> g.gelu(x));
        check(List.of(x), g -> g.silu(x));
        check(List.of(x), g -> g.geluErf(x));
    }

    @Test void norms() {
        Random r = new Random(6);
        Tensor x = rand("x", r, 5, 24), gm = rand("g", r, 24), b = rand("b", r, 24);
        check(List.of(x, gm, b), g -> g.layerNorm(x, gm, b, 1e-5f));
        check(List.of(x, gm), g -> g.rmsNorm(x, gm, 1e-5f));
    }

    @Test void causalAttention() {
        Random r = new Random(8);
        int batch = 2, t = 5, heads = 2, c = 8;
        Tensor qkv = rand("qkv", r, batch * t, 3 * c);
        check(List.of(qkv), g -> g.causalAttention(qkv, batch, t, heads));
    }

    @Test void attentionAtPreferredWidth() {
        Random r = new Random(9);
        int batch = 1, t = 2 * Graph.L + 3, heads = 2, c = 4 * Graph.L;
        Tensor qkv = rand("qkv", r, batch * t, 3 * c);
        for (int i = 0; i < qkv.size(); i++) qkv.data[i] *= 0.3f;
        check(List.of(qkv), g -> g.causalAttention(qkv, batch, t, heads));
    }

    @Test void rope() {
        Random r = new Random(10);
        Tensor x = rand("x", r, 2 * 6, 12);
        check(List.of(x), g -> g.rope(x, 6, 4, 8, 10000f));
    }

    @Test void crossEntropy() {
        Random r = new Random(11);
        Tensor logits = rand("logits", r, 6, 9);
        int[] tg = {0, 8, 3, 3, 5, 1};
        check(List.of(logits), g -> g.crossEntropy(logits, tg));
    }

    @Test void wholeModels() {
        for (ModelConfig cfg : new ModelConfig[]{
                new ModelConfig(ModelConfig.Arch.GPT, 11, 6, 2, 2, 8, 32, true, 1e-5f, 0f),
                ModelConfig.llama(11, 6, 2, 2, 8, 20)}) {
            checkWholeModel(cfg, false, null);
        }
    }

    /**
     * Checks every parameter of a model of {@code cfg} (random tokens and targets, 2 sequences) against central
     * differences; with {@code docStart} the graph is packed and reads those document starts.
     */
    static void checkWholeModel(ModelConfig cfg, boolean packed, int[] docStart) {
        Model model = new Model(cfg, 3);
        for (Model.Param p : model.params()) for (int i = 0; i < p.tensor().size(); i++)
            p.tensor().data[i] += 0.01f * (float) Math.sin(i + p.name().length());  // break symmetric init (zero biases, unit norms)
        Random r = new Random(12);
        int v = cfg.vocab();
        List<Tensor> ps = model.params().stream().map(Model.Param::tensor).toList();
        check(ps, g -> {
            Model.Step s = model.build(g, 2, cfg.blockSize(), packed);
            for (int i = 0; i < s.ids().length; i++) { s.ids()[i] = r.nextInt(v); s.targets()[i] = r.nextInt(v); }
            if (packed) System.arraycopy(docStart, 0, s.docStart(), 0, docStart.length);
            return s.loss();
        }, 1e-3);   // the residual stream is small at init (std ~0.02): a larger step sees LayerNorm's curvature
    }
}
