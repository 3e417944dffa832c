package io.jlm.models.hybrid;

/**
 * An independent float64 implementation of docs/JLM_ARCH.md in its parallel (full-sequence) form, written from the
 * formulas and not from the engine: attention as explicit score matrices, L and R as explicit O(T^2) sums, S and H
 * as explicit convolutions with the kernel {@code K_{c,k} = 2 Re(sum_r C dB dA^k)} ({@code dA^k} as
 * {@code exp(k dt A)}), Mamba as the explicit sum {@code y_t = sum_{k<=t} C_t exp(A sum_{k<tau<=t} dt_tau) dt_k B_k x_k}.
 */
final class HybridReference {
    private final HybridFixture fx;
    private final int d;

    private HybridReference(HybridFixture fx) {
        this.fx = fx;
        this.d = fx.d;
    }

    /** Logits of every position for {@code tokens} from an empty state: {@code [T][vocab]}. */
    static double[][] logits(HybridFixture fx, int[] tokens) {
        return new HybridReference(fx).run(tokens);
    }

    private double[][] run(int[] tok) {
        int T = tok.length;
        float[] emb = fx.t("token_embd.weight");
        double[][] x = new double[T][d];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < d; i++) {
                x[t][i] = emb[tok[t] * d + i];
                if (fx.position.equals("learned")) x[t][i] += fx.t("position_embd.weight")[t * d + i];
            }
        }
        for (int l = 0; l < fx.pattern.length(); l++) {
            String p = "blk." + l + ".";
            double[][] u = rms(x, fx.t(p + "norm.weight"));
            double[][] o = switch (fx.pattern.charAt(l)) {
                case 'A' -> attention(p, u, false);
                case 'W' -> attention(p, u, true);
                case 'F' -> ffn(p, u);
                case 'L' -> linear(p, u);
                case 'R' -> retention(p, u);
                case 'S' -> s4d(p, u);
                case 'H' -> h3(p, u);
                case 'M' -> mamba(p, u);
                default -> throw new IllegalArgumentException();
            };
            for (int t = 0; t < T; t++) for (int i = 0; i < d; i++) x[t][i] += o[t][i];
        }
        float[] out = fx.tied ? emb : fx.t("output.weight");
        return lin(rms(x, fx.t("output_norm.weight")), out, fx.vocab, d);
    }

    // ---------------------------------------------------------------- mixers

    private double[][] attention(String p, double[][] u, boolean sliding) {
        int T = u.length, nh = fx.nh, nkv = fx.nkv, hs = fx.hs();
        double[][] q = lin(u, fx.t(p + "attn_q.weight"), nh * hs, d);
        double[][] k = lin(u, fx.t(p + "attn_k.weight"), nkv * hs, d);
        double[][] v = lin(u, fx.t(p + "attn_v.weight"), nkv * hs, d);
        if (fx.position.equals("rope")) {
            double s = fx.factor;
            double theta = fx.scaling.equals("ntk") ? fx.theta * Math.pow(s, hs / (hs - 2.0)) : fx.theta;
            for (int t = 0; t < T; t++) {
                double pp = fx.scaling.equals("linear") ? t / s : t;
                rotate(q[t], nh, hs, pp, theta);
                rotate(k[t], nkv, hs, pp, theta);
            }
        }
        double[][] o = new double[T][nh * hs];
        for (int h = 0; h < nh; h++) {
            int kvh = h / (nh / nkv);
            double m = Math.pow(2, -8.0 * (h + 1) / nh);
            double[][] score = new double[T][T];
            for (int i = 0; i < T; i++) {
                for (int j = 0; j < T; j++) {
                    boolean visible = j <= i && (!sliding || j > i - fx.window);
                    if (!visible) {
                        score[i][j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int e = 0; e < hs; e++) dot += q[i][h * hs + e] * k[j][kvh * hs + e];
                    score[i][j] = dot / Math.sqrt(hs) - (fx.position.equals("alibi") ? m * (i - j) : 0);
                }
            }
            for (int i = 0; i < T; i++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < T; j++) max = Math.max(max, score[i][j]);
                for (int j = 0; j < T; j++) sum += Math.exp(score[i][j] - max);
                for (int j = 0; j < T; j++) {
                    double pr = Math.exp(score[i][j] - max) / sum;
                    for (int e = 0; e < hs; e++) o[i][h * hs + e] += pr * v[j][kvh * hs + e];
                }
            }
        }
        return lin(o, fx.t(p + "attn_output.weight"), d, nh * hs);
    }

    private static void rotate(double[] x, int heads, int hs, double pos, double theta) {
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < hs / 2; j++) {
                double ang = pos * Math.pow(theta, -2.0 * j / hs);
                int a = h * hs + 2 * j;
                double x0 = x[a], x1 = x[a + 1];
                x[a] = x0 * Math.cos(ang) - x1 * Math.sin(ang);
                x[a + 1] = x0 * Math.sin(ang) + x1 * Math.cos(ang);
            }
        }
    }

    private double[][] ffn(String p, double[][] u) {
        double[][] g = lin(u, fx.t(p + "ffn_gate.weight"), fx.f, d);
        double[][] up = lin(u, fx.t(p + "ffn_up.weight"), fx.f, d);
        for (int t = 0; t < u.length; t++) for (int i = 0; i < fx.f; i++) g[t][i] = silu(g[t][i]) * up[t][i];
        return lin(g, fx.t(p + "ffn_down.weight"), d, fx.f);
    }

    private double[][] linear(String p, double[][] u) {
        int T = u.length, hs = fx.hs();
        double[][] q = lin(u, fx.t(p + "attn_q.weight"), d, d);
        double[][] k = lin(u, fx.t(p + "attn_k.weight"), d, d);
        double[][] v = lin(u, fx.t(p + "attn_v.weight"), d, d);
        double[][] o = new double[T][d];
        for (int h = 0; h < fx.nh; h++) {
            for (int i = 0; i < T; i++) {
                for (int j = 0; j <= i; j++) {
                    double a = 0;
                    for (int e = 0; e < hs; e++) a += elu1(q[i][h * hs + e]) * elu1(k[j][h * hs + e]);
                    for (int e = 0; e < hs; e++) o[i][h * hs + e] += a * v[j][h * hs + e];
                }
                rmsHead(o[i], h * hs, hs);
            }
        }
        return lin(o, fx.t(p + "attn_output.weight"), d, d);
    }

    private double[][] retention(String p, double[][] u) {
        int T = u.length, hs = fx.hs();
        double[][] q = lin(u, fx.t(p + "attn_q.weight"), d, d);
        double[][] k = lin(u, fx.t(p + "attn_k.weight"), d, d);
        double[][] v = lin(u, fx.t(p + "attn_v.weight"), d, d);
        double[][] gate = lin(u, fx.t(p + "attn_gate.weight"), d, d);
        double[][] o = new double[T][d];
        for (int h = 0; h < fx.nh; h++) {
            double g = 1 - Math.pow(2, -5 - h);
            for (int i = 0; i < T; i++) {
                for (int j = 0; j <= i; j++) {
                    double a = 0;
                    for (int e = 0; e < hs; e++) a += q[i][h * hs + e] / Math.sqrt(hs) * k[j][h * hs + e];
                    a *= Math.pow(g, i - j);
                    for (int e = 0; e < hs; e++) o[i][h * hs + e] += a * v[j][h * hs + e];
                }
                rmsHead(o[i], h * hs, hs);
            }
        }
        for (int i = 0; i < T; i++) for (int c = 0; c < d; c++) o[i][c] *= silu(gate[i][c]);
        return lin(o, fx.t(p + "attn_output.weight"), d, d);
    }

    private double[][] s4d(String p, double[][] u) {
        double[][] y = ssmConv(p, u);
        for (double[] row : y) for (int c = 0; c < d; c++) row[c] = gelu(row[c]);
        return lin(y, fx.t(p + "s4d_out.weight"), d, d);
    }

    private double[][] h3(String p, double[][] u) {
        int T = u.length, m = fx.shift;
        double[][] q = lin(u, fx.t(p + "attn_q.weight"), d, d);
        double[][] k = lin(u, fx.t(p + "attn_k.weight"), d, d);
        double[][] v = lin(u, fx.t(p + "attn_v.weight"), d, d);
        float[] shift = fx.t(p + "h3_shift.weight");
        double[][] w = new double[T][d];
        for (int t = 0; t < T; t++) {
            for (int c = 0; c < d; c++) {
                double kbar = 0;
                for (int j = 0; j < m; j++) {
                    int tt = t - (m - 1) + j;
                    if (tt >= 0) kbar += shift[c * m + j] * k[tt][c];
                }
                w[t][c] = kbar * v[t][c];
            }
        }
        double[][] s = ssmConv(p, w);
        for (int t = 0; t < T; t++) for (int c = 0; c < d; c++) s[t][c] *= q[t][c];
        return lin(s, fx.t(p + "attn_output.weight"), d, d);
    }

    /** y_{t,c} = sum_{k=0}^{t} K_{c,k} u_{t-k,c} + D_c u_{t,c}. */
    private double[][] ssmConv(String p, double[][] u) {
        int T = u.length, n = fx.modes;
        float[] logDt = fx.t(p + "s4d_log_dt.weight"), aLog = fx.t(p + "s4d_a_log.weight"),
                aIm = fx.t(p + "s4d_a_im.weight"), cRe = fx.t(p + "s4d_c_re.weight"),
                cIm = fx.t(p + "s4d_c_im.weight"), dd = fx.t(p + "s4d_d.weight");
        double[][] kernel = new double[d][T];
        for (int c = 0; c < d; c++) {
            double dt = Math.exp(logDt[c]);
            for (int r = 0; r < n; r++) {
                double ar = -Math.exp(aLog[c * n + r]), ai = aIm[c * n + r];
                // dB = (exp(dt A) - 1) / A
                double er = Math.exp(dt * ar) * Math.cos(dt * ai) - 1, ei = Math.exp(dt * ar) * Math.sin(dt * ai);
                double den = ar * ar + ai * ai;
                double br = (er * ar + ei * ai) / den, bi = (ei * ar - er * ai) / den;
                double cbr = cRe[c * n + r] * br - cIm[c * n + r] * bi, cbi = cRe[c * n + r] * bi + cIm[c * n + r] * br;
                for (int k = 0; k < T; k++) {
                    double pr = Math.exp(k * dt * ar) * Math.cos(k * dt * ai), pi = Math.exp(k * dt * ar) * Math.sin(k * dt * ai);
                    kernel[c][k] += 2 * (cbr * pr - cbi * pi);
                }
            }
        }
        double[][] y = new double[T][d];
        for (int t = 0; t < T; t++) {
            for (int c = 0; c < d; c++) {
                double s = dd[c] * u[t][c];
                for (int k = 0; k <= t; k++) s += kernel[c][k] * u[t - k][c];
                y[t][c] = s;
            }
        }
        return y;
    }

    private double[][] mamba(String p, double[][] u) {
        int T = u.length, di = fx.di, K = fx.dconv, ds = fx.ds, dtr = fx.dtr;
        double[][] xz = lin(u, fx.t(p + "ssm_in.weight"), 2 * di, d);
        float[] cw = fx.t(p + "ssm_conv1d.weight"), cb = fx.t(p + "ssm_conv1d.bias");
        double[][] xc = new double[T][di];
        for (int t = 0; t < T; t++) {
            for (int c = 0; c < di; c++) {
                double s = cb[c];
                for (int k = 0; k < K; k++) {
                    int tt = t - (K - 1) + k;
                    if (tt >= 0) s += cw[c * K + k] * xz[tt][c];
                }
                xc[t][c] = silu(s);
            }
        }
        double[][] xdb = lin(xc, fx.t(p + "ssm_x.weight"), dtr + 2 * ds, di);
        double[][] dtIn = new double[T][dtr];
        for (int t = 0; t < T; t++) System.arraycopy(xdb[t], 0, dtIn[t], 0, dtr);
        double[][] dt = lin(dtIn, fx.t(p + "ssm_dt.weight"), di, dtr);
        float[] dtb = fx.t(p + "ssm_dt.bias"), A = fx.t(p + "ssm_a.weight"), D = fx.t(p + "ssm_d.weight");
        for (int t = 0; t < T; t++) for (int c = 0; c < di; c++) dt[t][c] = Math.log1p(Math.exp(dt[t][c] + dtb[c]));
        double[][] y = new double[T][di];
        for (int c = 0; c < di; c++) {
            for (int t = 0; t < T; t++) {
                double acc = D[c] * xc[t][c];
                for (int k = 0; k <= t; k++) {
                    double between = 0; // sum of dt over (k, t]
                    for (int tau = k + 1; tau <= t; tau++) between += dt[tau][c];
                    for (int s = 0; s < ds; s++) {
                        acc += xdb[t][dtr + ds + s] * Math.exp(A[c * ds + s] * between) * dt[k][c] * xdb[k][dtr + s] * xc[k][c];
                    }
                }
                y[t][c] = acc * silu(xz[t][di + c]);
            }
        }
        return lin(y, fx.t(p + "ssm_out.weight"), d, di);
    }

    // ---------------------------------------------------------------- helpers

    /** out[t][r] = sum_c W[r][c] u[t][c] for W row-major [rows, cols]. */
    private static double[][] lin(double[][] u, float[] w, int rows, int cols) {
        double[][] o = new double[u.length][rows];
        for (int t = 0; t < u.length; t++) {
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int c = 0; c < cols; c++) s += w[r * cols + c] * u[t][c];
                o[t][r] = s;
            }
        }
        return o;
    }

    private double[][] rms(double[][] x, float[] w) {
        double[][] o = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ss = 0;
            for (double v : x[t]) ss += v * v;
            double sc = 1 / Math.sqrt(ss / x[t].length + fx.eps);
            o[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) o[t][i] = x[t][i] * sc * w[i];
        }
        return o;
    }

    private void rmsHead(double[] o, int off, int n) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += o[off + i] * o[off + i];
        double sc = 1 / Math.sqrt(ss / n + fx.eps);
        for (int i = 0; i < n; i++) o[off + i] *= sc;
    }

    private static double silu(double x) { return x / (1 + Math.exp(-x)); }

    private static double elu1(double x) { return x > 0 ? x + 1 : Math.exp(x); }

    private static double gelu(double x) { return 0.5 * x * (1 + erf(x / Math.sqrt(2))); }

    /** erf by its Maclaurin series (|x| < 3) or the continued fraction of erfc. */
    static double erf(double x) {
        double z = Math.abs(x), r;
        if (z < 3) {
            double term = z, sum = z;
            for (int n = 1; n < 200; n++) {
                term *= -z * z / n;
                sum += term / (2 * n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (z + f);
            r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
        }
        return x < 0 ? -r : r;
    }
}
