package io.jlm.train;

import jdk.incubator.vector.FloatVector;

import java.util.Arrays;

import static io.jlm.train.Graph.L;
import static io.jlm.train.Graph.S;
import static io.jlm.train.Graph.axpy;
import static io.jlm.train.Graph.check;

/**
 * The sequence-mixing ops of the non-attention token mixers, recorded on a {@link Graph}: linear attention and
 * retention (parallel O(T^2) form), causal depthwise convolution, the S4D kernel, FFT long convolution and
 * Mamba's selective scan. Each is the parallel (training) form of a mixer whose recurrent form the engine runs
 * ({@code io.jlm.models.hybrid}); the math is specified in {@code docs/JLM_ARCH.md}. Activations are
 * {@code [B*T, C]} row-major; every op adds its gradient contributions into its inputs.
 */
public final class MixerOps {
    private final Graph g;

    public MixerOps(Graph g) { this.g = g; }

    // ------------------------------------------------------------------ small elementwise helpers

    /** Columns {@code [from, from + n)} of {@code x [M, W]} as a new {@code [M, n]} tensor. */
    public Tensor sliceCols(Tensor x, int from, int n) {
        int w = x.cols(), m = x.rows();
        check(from >= 0 && n > 0 && from + n <= w, "sliceCols: [" + from + ", " + (from + n) + ") of " + x);
        Tensor out = g.act("slice", m, n);
        g.add(g.new Node() {
            @Override int work() { return m; }
            @Override void fwd(int a, int b, int t) {
                for (int r = a; r < b; r++) System.arraycopy(x.data, r * w + from, out.data, r * n, n);
            }
            @Override void bwd(int a, int b, int t) {
                if (x.grad == null) return;
                for (int r = a; r < b; r++) axpy(1f, out.grad, r * n, x.grad, r * w + from, n);
            }
        });
        return out;
    }

    /** {@code softplus(x) = log(1 + e^x)} elementwise. */
    public Tensor softplus(Tensor x) {
        Tensor out = g.act("softplus", x.shape);
        int size = x.size();
        g.add(g.new Node() {
            @Override int work() { return Graph.chunks(size); }
            @Override void fwd(int a, int b, int t) {
                int s = a * Graph.CHUNK, e = Math.min(size, b * Graph.CHUNK);
                for (int i = s; i < e; i++) out.data[i] = softplus(x.data[i]);
            }
            @Override void bwd(int a, int b, int t) {
                if (x.grad == null) return;
                int s = a * Graph.CHUNK, e = Math.min(size, b * Graph.CHUNK);
                for (int i = s; i < e; i++) x.grad[i] += out.grad[i] / (1f + (float) Math.exp(-x.data[i]));
            }
        });
        return out;
    }

    static float softplus(float x) { return x > 20f ? x : (float) Math.log1p(Math.exp(x)); }

    // ------------------------------------------------------------------ linear attention / retention

    /**
     * Causal linear attention over heads of {@code hs = d / heads}: {@code qkv [B*T, 3d]} holds Q, K, V;
     * {@code o_i = sum_{j<=i} gamma_h^(i-j) (phi(s q_i)·phi(k_j)) v_j}, then each head of {@code o} is RMS-normalised
     * (no weight). {@code phi} is {@code elu+1} when {@code elu1}, else the identity; {@code s = qScale}.
     * {@code gamma = 1} everywhere is TransNormer's NormAttention, a per-head decay RetNet's retention.
     */
    public Tensor linearAttention(Tensor qkv, int batch, int t, int heads, float[] gamma, boolean elu1, float qScale,
                                  float eps) {
        return linearAttention(qkv, batch, t, heads, gamma, elu1, qScale, eps, null);
    }

    /** As above; with {@code docStart} (packed sequences) row {@code r} sums only over {@code j >= docStart[r]}. */
    public Tensor linearAttention(Tensor qkv, int batch, int t, int heads, float[] gamma, boolean elu1, float qScale,
                                  float eps, int[] docStart) {
        int w = qkv.cols(), d = w / 3, hs = d / heads;
        check(w == 3 * d && d == hs * heads && qkv.rows() == batch * t && gamma.length == heads,
                "linearAttention: qkv " + qkv + " for B=" + batch + " T=" + t + " heads=" + heads);
        Tensor out = g.act("linattn", batch * t, d);
        float[] phi = new float[batch * t * 2 * d];           // phi(q) | phi(k) per row
        float[] pre = new float[batch * t * d];               // o before the norm
        float[] rinv = new float[batch * t * heads];
        float[][] pow = new float[heads][t];
        for (int h = 0; h < heads; h++) for (int k = 0; k < t; k++) pow[h][k] = (float) Math.pow(gamma[h], k);
        int scratch = 2 * t * hs + hs;
        g.add(g.new Node() {
            @Override int work() { return batch * heads; }
            @Override void fwd(int from, int to, int thread) {
                float[] x = qkv.data;
                for (int bh = from; bh < to; bh++) {
                    int b = bh / heads, h = bh % heads, base = b * t;
                    for (int i = 0; i < t; i++) {
                        int r = base + i;
                        for (int e = 0; e < hs; e++) {
                            float qv = qScale * x[r * w + h * hs + e], kv = x[r * w + d + h * hs + e];
                            phi[r * 2 * d + h * hs + e] = elu1 ? elu1(qv) : qv;
                            phi[r * 2 * d + d + h * hs + e] = elu1 ? elu1(kv) : kv;
                        }
                    }
                    for (int i = 0; i < t; i++) {
                        int r = base + i, po = r * d + h * hs;
                        Arrays.fill(pre, po, po + hs, 0f);
                        for (int j = docStart == null ? 0 : docStart[r]; j <= i; j++) {
                            float a = pow[h][i - j] * dot(phi, r * 2 * d + h * hs, phi, (base + j) * 2 * d + d + h * hs, hs);
                            axpy(a, x, (base + j) * w + 2 * d + h * hs, pre, po, hs);
                        }
                        float ss = 0f;
                        for (int e = 0; e < hs; e++) ss += pre[po + e] * pre[po + e];
                        float ri = (float) (1.0 / Math.sqrt(ss / hs + eps));
                        rinv[r * heads + h] = ri;
                        for (int e = 0; e < hs; e++) out.data[po + e] = pre[po + e] * ri;
                    }
                }
            }
            @Override void bwd(int from, int to, int thread) {
                if (qkv.grad == null) return;
                float[] sc = g.pool().scratch(thread, scratch);
                float[] x = qkv.data, dx = qkv.grad, y = out.data, dy = out.grad;
                int dfq = 0, dfk = t * hs, dob = 2 * t * hs;
                for (int bh = from; bh < to; bh++) {
                    int b = bh / heads, h = bh % heads, base = b * t;
                    Arrays.fill(sc, 0, 2 * t * hs, 0f);
                    for (int i = 0; i < t; i++) {
                        int r = base + i, po = r * d + h * hs;
                        float ri = rinv[r * heads + h], dot = 0f;
                        for (int e = 0; e < hs; e++) dot += dy[po + e] * y[po + e];
                        dot /= hs;
                        for (int e = 0; e < hs; e++) sc[dob + e] = ri * (dy[po + e] - y[po + e] * dot);
                        int qo = r * 2 * d + h * hs;
                        for (int j = docStart == null ? 0 : docStart[r]; j <= i; j++) {
                            int rj = base + j, ko = rj * 2 * d + d + h * hs, vo = rj * w + 2 * d + h * hs;
                            float wgt = pow[h][i - j];
                            float a = wgt * dot(phi, qo, phi, ko, hs);
                            float da = wgt * dot(sc, dob, x, vo, hs);
                            axpy(a, sc, dob, dx, vo, hs);                       // dV
                            axpy(da, phi, ko, sc, dfq + i * hs, hs);            // d phi(q_i)
                            axpy(da, phi, qo, sc, dfk + j * hs, hs);            // d phi(k_j)
                        }
                    }
                    for (int i = 0; i < t; i++) {
                        int r = base + i;
                        for (int e = 0; e < hs; e++) {
                            int c = h * hs + e;
                            float fq = phi[r * 2 * d + c], fk = phi[r * 2 * d + d + c];
                            float gq = elu1 ? (x[r * w + c] * qScale > 0 ? 1f : fq) : 1f;
                            float gk = elu1 ? (x[r * w + d + c] > 0 ? 1f : fk) : 1f;
                            dx[r * w + c] += sc[dfq + i * hs + e] * gq * qScale;
                            dx[r * w + d + c] += sc[dfk + i * hs + e] * gk;
                        }
                    }
                }
            }
        });
        return out;
    }

    static float elu1(float x) { return x > 0 ? x + 1f : (float) Math.exp(x); }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /** RetNet's fixed per-head decays {@code 1 - 2^(-5-h)}. */
    public static float[] retentionDecays(int heads) {
        float[] gm = new float[heads];
        for (int h = 0; h < heads; h++) gm[h] = (float) (1 - Math.pow(2, -5 - h));
        return gm;
    }

    // ------------------------------------------------------------------ causal depthwise convolution

    /**
     * Causal depthwise convolution along time: {@code y[t,c] = bias[c] + sum_j w[c,j] x[t-(m-1)+j, c]} for
     * {@code x [B*T, C]}, {@code w [C, m]}, {@code bias [C]} or null; inputs before the sequence start are zero.
     */
    public Tensor causalConv(Tensor x, Tensor w, Tensor bias, int batch, int t) {
        return causalConv(x, w, bias, batch, t, null);
    }

    /** As above; with {@code docStart} (packed sequences) taps before row {@code r}'s document start read zero. */
    public Tensor causalConv(Tensor x, Tensor w, Tensor bias, int batch, int t, int[] docStart) {
        int c = x.cols(), m = w.dim(1);
        check(w.dim(0) == c && x.rows() == batch * t && (bias == null || bias.size() == c),
                "causalConv: x " + x + ", w " + w + ", bias " + bias);
        Tensor out = g.act("conv", batch * t, c);
        g.add(g.new Node() {
            @Override int work() { return c; }
            @Override void fwd(int from, int to, int th) {
                for (int ch = from; ch < to; ch++) for (int b = 0; b < batch; b++) for (int i = 0; i < t; i++) {
                    float s = bias == null ? 0f : bias.data[ch];
                    for (int j = Math.max(0, m - 1 - i + (docStart == null ? 0 : docStart[b * t + i])); j < m; j++)
                        s += w.data[ch * m + j] * x.data[(b * t + i - (m - 1) + j) * c + ch];
                    out.data[(b * t + i) * c + ch] = s;
                }
            }
            @Override void bwd(int from, int to, int th) {
                for (int ch = from; ch < to; ch++) for (int b = 0; b < batch; b++) for (int i = 0; i < t; i++) {
                    float gy = out.grad[(b * t + i) * c + ch];
                    if (bias != null && bias.grad != null) bias.grad[ch] += gy;
                    for (int j = Math.max(0, m - 1 - i + (docStart == null ? 0 : docStart[b * t + i])); j < m; j++) {
                        int xr = (b * t + i - (m - 1) + j) * c + ch;
                        if (w.grad != null) w.grad[ch * m + j] += gy * x.data[xr];
                        if (x.grad != null) x.grad[xr] += gy * w.data[ch * m + j];
                    }
                }
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ S4D

    /**
     * The S4D convolution kernel {@code K [C, T]}: {@code K[c,k] = 2 Re(sum_r C dB dA^k)} with
     * {@code dt = exp(logDt[c])}, {@code A = -exp(aLog[c,r]) + i aIm[c,r]}, {@code dA = exp(dt A)},
     * {@code dB = (dA - 1) / A}, {@code C = cRe + i cIm}. Computed in double precision.
     */
    public Tensor s4dKernel(Tensor logDt, Tensor aLog, Tensor aIm, Tensor cRe, Tensor cIm, int t) {
        int ch = logDt.size(), n = aLog.cols();
        for (Tensor p : new Tensor[]{aLog, aIm, cRe, cIm})
            check(p.size() == ch * n, "s4dKernel: " + p + " is not [" + ch + ", " + n + "]");
        Tensor out = g.act("s4d_kernel", ch, t);
        double[][] acc = new double[g.pool().threads()][t];
        g.add(g.new Node() {
            @Override int work() { return ch; }
            @Override void fwd(int from, int to, int th) {
                for (int c = from; c < to; c++) {
                    double dt = Math.exp(logDt.data[c]);
                    double[] k = acc[th];
                    Arrays.fill(k, 0);
                    for (int r = 0; r < n; r++) {
                        int i = c * n + r;
                        Mode md = new Mode(dt, aLog.data[i], aIm.data[i], cRe.data[i], cIm.data[i]);
                        double pr = 1, pi = 0;                         // dA^k
                        for (int s = 0; s < t; s++) {
                            k[s] += 2 * (md.wr * pr - md.wi * pi);
                            double nr = pr * md.zr - pi * md.zi; pi = pr * md.zi + pi * md.zr; pr = nr;
                        }
                    }
                    for (int s = 0; s < t; s++) out.data[c * t + s] = (float) k[s];
                }
            }
            @Override void bwd(int from, int to, int th) {
                for (int c = from; c < to; c++) {
                    double dt = Math.exp(logDt.data[c]), gDt = 0;
                    for (int r = 0; r < n; r++) {
                        int i = c * n + r;
                        Mode md = new Mode(dt, aLog.data[i], aIm.data[i], cRe.data[i], cIm.data[i]);
                        // G_W = sum_k 2 dK_k conj(z^k); S1 = sum_k 2 dK_k k conj(z^(k-1))
                        double gwr = 0, gwi = 0, s1r = 0, s1i = 0, pr = 1, pi = 0, qr = 0, qi = 0;   // p = z^k, q = z^(k-1)
                        for (int s = 0; s < t; s++) {
                            double gk = 2 * out.grad[c * t + s];
                            gwr += gk * pr; gwi -= gk * pi;
                            s1r += gk * s * qr; s1i -= gk * s * qi;
                            qr = pr; qi = pi;
                            double nr = pr * md.zr - pi * md.zi; pi = pr * md.zi + pi * md.zr; pr = nr;
                        }
                        // G_z = conj(W) S1
                        double gzr = md.wr * s1r + md.wi * s1i, gzi = md.wr * s1i - md.wi * s1r;
                        // W = C dB: G_C = conj(dB) G_W, G_dB = conj(C) G_W
                        double gcr = md.br * gwr + md.bi * gwi, gci = md.br * gwi - md.bi * gwr;
                        double gbr = md.cr * gwr + md.ci * gwi, gbi = md.cr * gwi - md.ci * gwr;
                        // dB = (z - 1) / A: G_z += conj(1/A) G_dB; G_A += conj(-(z-1)/A^2) G_dB = conj(-dB/A) G_dB
                        double den = md.ar * md.ar + md.ai * md.ai, invr = md.ar / den, invi = -md.ai / den;   // 1/A
                        gzr += invr * gbr + invi * gbi; gzi += invr * gbi - invi * gbr;
                        double ur = -(md.br * invr - md.bi * invi), ui = -(md.br * invi + md.bi * invr);          // -dB/A
                        double gar = ur * gbr + ui * gbi, gai = ur * gbi - ui * gbr;
                        // z = exp(dt A): G_A += conj(dt z) G_z; dL/ddt += Re(conj(A z) G_z)
                        gar += dt * (md.zr * gzr + md.zi * gzi); gai += dt * (md.zr * gzi - md.zi * gzr);
                        double azr = md.ar * md.zr - md.ai * md.zi, azi = md.ar * md.zi + md.ai * md.zr;
                        gDt += azr * gzr + azi * gzi;
                        // A = -exp(aLog) + i aIm
                        if (aLog.grad != null) aLog.grad[i] += (float) (gar * md.ar);
                        if (aIm.grad != null) aIm.grad[i] += (float) gai;
                        if (cRe.grad != null) cRe.grad[i] += (float) gcr;
                        if (cIm.grad != null) cIm.grad[i] += (float) gci;
                    }
                    if (logDt.grad != null) logDt.grad[c] += (float) (gDt * dt);
                }
            }
        });
        return out;
    }

    /** One S4D mode discretised: {@code A}, {@code z = dA}, {@code dB}, {@code C} and {@code W = C dB}. */
    private static final class Mode {
        final double ar, ai, zr, zi, br, bi, cr, ci, wr, wi;
        Mode(double dt, float aLog, float aIm, float cRe, float cIm) {
            ar = -Math.exp(aLog); ai = aIm;
            double mag = Math.exp(dt * ar);
            zr = mag * Math.cos(dt * ai); zi = mag * Math.sin(dt * ai);
            double den = ar * ar + ai * ai, nr = zr - 1, ni = zi;          // (z - 1) / A
            br = (nr * ar + ni * ai) / den; bi = (ni * ar - nr * ai) / den;
            cr = cRe; ci = cIm;
            wr = cr * br - ci * bi; wi = cr * bi + ci * br;
        }
    }

    /**
     * Causal long convolution by FFT: {@code y[t,c] = sum_{k=0..t} K[c,k] u[t-k,c] + D[c] u[t,c]} for
     * {@code u [B*T, C]}, {@code K [C, T]}, {@code D [C]} (or null).
     */
    public Tensor longConv(Tensor u, Tensor kernel, Tensor d, int batch, int t) {
        int c = u.cols();
        check(u.rows() == batch * t && kernel.dim(0) == c && kernel.dim(1) == t && (d == null || d.size() == c),
                "longConv: u " + u + ", kernel " + kernel + ", D " + d);
        int nf = Fft.size(2 * t);
        Fft fft = new Fft(nf);
        double[][][] buf = new double[g.pool().threads()][8][nf];
        Tensor out = g.act("longconv", batch * t, c);
        g.add(g.new Node() {
            @Override int work() { return c; }
            @Override void fwd(int from, int to, int th) {
                double[][] bf = buf[th];
                double[] kre = bf[0], kim = bf[1], re = bf[2], im = bf[3];
                for (int ch = from; ch < to; ch++) {
                    Arrays.fill(kre, 0); Arrays.fill(kim, 0);
                    for (int s = 0; s < t; s++) kre[s] = kernel.data[ch * t + s];
                    fft.transform(kre, kim, false);
                    float dd = d == null ? 0f : d.data[ch];
                    for (int b = 0; b < batch; b++) {
                        Arrays.fill(re, 0); Arrays.fill(im, 0);
                        for (int s = 0; s < t; s++) re[s] = u.data[(b * t + s) * c + ch];
                        fft.transform(re, im, false);
                        for (int f = 0; f < nf; f++) {
                            double a = re[f] * kre[f] - im[f] * kim[f], bb = re[f] * kim[f] + im[f] * kre[f];
                            re[f] = a; im[f] = bb;
                        }
                        fft.transform(re, im, true);
                        for (int s = 0; s < t; s++) {
                            int r = (b * t + s) * c + ch;
                            out.data[r] = (float) (re[s] / nf) + dd * u.data[r];
                        }
                    }
                }
            }
            @Override void bwd(int from, int to, int th) {
                double[][] bf = buf[th];
                double[] kre = bf[0], kim = bf[1], ure = bf[2], uim = bf[3], gre = bf[4], gim = bf[5], sre = bf[6], sim = bf[7];
                for (int ch = from; ch < to; ch++) {
                    Arrays.fill(kre, 0); Arrays.fill(kim, 0); Arrays.fill(sre, 0); Arrays.fill(sim, 0);
                    for (int s = 0; s < t; s++) kre[s] = kernel.data[ch * t + s];
                    fft.transform(kre, kim, false);
                    float dd = d == null ? 0f : d.data[ch];
                    double gD = 0;
                    for (int b = 0; b < batch; b++) {
                        Arrays.fill(ure, 0); Arrays.fill(uim, 0); Arrays.fill(gre, 0); Arrays.fill(gim, 0);
                        for (int s = 0; s < t; s++) {
                            int r = (b * t + s) * c + ch;
                            ure[s] = u.data[r]; gre[s] = out.grad[r];
                            gD += (double) out.grad[r] * u.data[r];
                        }
                        fft.transform(ure, uim, false);
                        fft.transform(gre, gim, false);
                        for (int f = 0; f < nf; f++) {            // dK spectrum += G conj(U)
                            sre[f] += gre[f] * ure[f] + gim[f] * uim[f];
                            sim[f] += gim[f] * ure[f] - gre[f] * uim[f];
                        }
                        if (u.grad != null) {                     // du = IFFT(G conj(K))
                            for (int f = 0; f < nf; f++) {
                                double a = gre[f] * kre[f] + gim[f] * kim[f], bb = gim[f] * kre[f] - gre[f] * kim[f];
                                gre[f] = a; gim[f] = bb;
                            }
                            fft.transform(gre, gim, true);
                            for (int s = 0; s < t; s++) {
                                int r = (b * t + s) * c + ch;
                                u.grad[r] += (float) (gre[s] / nf) + dd * out.grad[r];
                            }
                        }
                    }
                    if (kernel.grad != null) {
                        fft.transform(sre, sim, true);
                        for (int s = 0; s < t; s++) kernel.grad[ch * t + s] += (float) (sre[s] / nf);
                    }
                    if (d != null && d.grad != null) d.grad[ch] += (float) gD;
                }
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ Mamba selective scan

    /**
     * Mamba's selective scan: per channel {@code i} and state {@code n}, {@code h = exp(dt A) h + dt B x},
     * {@code y = C·h + D x}, with {@code A = -exp(aLog) [di, ds]}; {@code x, dt [B*T, di]};
     * B and C are columns {@code [off, off+ds)} and {@code [off+ds, off+2ds)} of {@code bc}.
     */
    public Tensor selectiveScan(Tensor x, Tensor dt, Tensor aLog, Tensor bc, int off, Tensor dSkip, int batch, int t) {
        return selectiveScan(x, dt, aLog, bc, off, dSkip, batch, t, null);
    }

    /** As above; with {@code docStart} (packed sequences) the state restarts from zero at each document start. */
    public Tensor selectiveScan(Tensor x, Tensor dt, Tensor aLog, Tensor bc, int off, Tensor dSkip, int batch, int t,
                                int[] docStart) {
        int di = x.cols(), ds = aLog.cols(), wb = bc.cols(), rows = batch * t;
        check(x.rows() == rows && dt.rows() == rows && dt.cols() == di && aLog.dim(0) == di && bc.rows() == rows
                && off + 2 * ds <= wb && dSkip.size() == di, "selectiveScan: x " + x + ", dt " + dt + ", A " + aLog
                + ", bc " + bc + " at " + off + ", D " + dSkip);
        Tensor out = g.act("scan", rows, di);
        // channels-last with padding: vectors run over L channels, rows padded to dp channels, histories are [row][n][dp]
        int blocks = (di + L - 1) / L, dp = blocks * L, threads = g.pool().threads();
        float[] hist = new float[rows * ds * dp], decay = new float[rows * ds * dp], aNeg = new float[ds * dp],
                xp = new float[rows * dp], dtp = new float[rows * dp], yp = new float[rows * dp], dSk = new float[dp],
                gxp = new float[rows * dp], gdtp = new float[rows * dp];
        // dB, dC: per thread, per (row, state) one vector of lane partial sums, reduced in a fixed order afterwards
        // (reduceLanes may associate differently in interpreted and compiled code, which would break reproducibility)
        float[][] gbc = new float[threads][rows * 2 * ds * L], carries = new float[threads][ds * L],
                gas = new float[threads][ds * dp], gDs = new float[threads][dp];
        g.add(g.new Node() {
            @Override int work() { return blocks; }
            @Override void forward() {
                for (int i = 0; i < di; i++) {
                    dSk[i] = dSkip.data[i];
                    for (int n = 0; n < ds; n++) aNeg[n * dp + i] = -(float) Math.exp(aLog.data[i * ds + n]);
                }
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(x.data, r * di, xp, r * dp, di);
                    System.arraycopy(dt.data, r * di, dtp, r * dp, di);
                }
                super.forward();
                for (int r = 0; r < rows; r++) System.arraycopy(yp, r * dp, out.data, r * di, di);
            }
            @Override void fwd(int from, int to, int th) {
                for (int blk = from; blk < to; blk++) for (int b = 0; b < batch; b++)
                    scanForward(blk * L, b * t, t, dp, ds, wb, off, xp, dtp, aNeg, bc.data, dSk, hist, decay, yp, docStart);
            }
            @Override void backward() {
                for (float[] a : gbc) Arrays.fill(a, 0f);
                for (float[] a : gas) Arrays.fill(a, 0f);
                for (float[] a : gDs) Arrays.fill(a, 0f);
                for (int r = 0; r < rows; r++) System.arraycopy(out.grad, r * di, yp, r * dp, di);   // yp now holds dy
                Arrays.fill(gxp, 0f);
                Arrays.fill(gdtp, 0f);
                super.backward();
                for (int r = 0; r < rows; r++) {
                    if (bc.grad != null) for (float[] a : gbc) for (int k = 0; k < 2 * ds; k++) {
                    float sum = 0f;
                    for (int lane = 0, o = (r * 2 * ds + k) * L; lane < L; lane++) sum += a[o + lane];
                    bc.grad[r * wb + off + k] += sum;
                }
                    if (x.grad != null) axpy(1f, gxp, r * dp, x.grad, r * di, di);
                    if (dt.grad != null) axpy(1f, gdtp, r * dp, dt.grad, r * di, di);
                }
                for (int th = 0; th < threads; th++) for (int i = 0; i < di; i++) {
                    if (dSkip.grad != null) dSkip.grad[i] += gDs[th][i];
                    if (aLog.grad != null) for (int n = 0; n < ds; n++) aLog.grad[i * ds + n] += gas[th][n * dp + i];
                }
            }
            @Override void bwd(int from, int to, int th) {
                for (int blk = from; blk < to; blk++) for (int b = 0; b < batch; b++)
                    scanBackward(blk * L, b * t, t, dp, ds, wb, off, xp, dtp, aNeg, bc.data, dSk, hist, decay, yp, gxp, gdtp,
                            gbc[th], carries[th], gas[th], gDs[th], docStart);
            }
        });
        return out;
    }

    /** The forward scan of channels {@code [i0, i0+L)} over one sequence of {@code t} rows from {@code r0} (padded arrays). */
    private static void scanForward(int i0, int r0, int t, int dp, int ds, int wb, int off, float[] xp, float[] dtp,
                                    float[] aNeg, float[] bcd, float[] dSk, float[] hist, float[] decay, float[] yp,
                                    int[] docStart) {
        FloatVector dSkip = FloatVector.fromArray(S, dSk, i0);
        for (int s = 0; s < t; s++) {
            int r = r0 + s, bo = r * wb + off;
            boolean restart = s == 0 || docStart != null && docStart[r] == s;
            FloatVector xv = FloatVector.fromArray(S, xp, r * dp + i0), dv = FloatVector.fromArray(S, dtp, r * dp + i0);
            FloatVector dx = dv.mul(xv), y = dSkip.mul(xv);
            for (int n = 0; n < ds; n++) {
                int ho = (r * ds + n) * dp + i0;
                FloatVector da = VMath.exp(dv.mul(FloatVector.fromArray(S, aNeg, n * dp + i0)));
                FloatVector h = dx.mul(bcd[bo + n]);
                if (!restart) h = da.fma(FloatVector.fromArray(S, hist, ho - ds * dp), h);
                da.intoArray(decay, ho);
                h.intoArray(hist, ho);
                y = h.fma(FloatVector.broadcast(S, bcd[bo + ds + n]), y);
            }
            y.intoArray(yp, r * dp + i0);
        }
    }

    /**
     * The reverse scan of channels {@code [i0, i0+L)} over one sequence: reads dy from {@code gyp}, adds dx and ddt into
     * {@code gxp}/{@code gdtp}, dB/dC lane sums into {@code acc [row][2 ds][L]}, d aLog (times A) into {@code gA [n][dp]}, dD into {@code gD}.
     */
    private static void scanBackward(int i0, int r0, int t, int dp, int ds, int wb, int off, float[] xp, float[] dtp,
                                     float[] aNeg, float[] bcd, float[] dSk, float[] hist, float[] decay, float[] gyp,
                                     float[] gxp, float[] gdtp, float[] acc, float[] carry, float[] gA, float[] gD,
                                     int[] docStart) {
        Arrays.fill(carry, 0f);
        FloatVector dSkip = FloatVector.fromArray(S, dSk, i0), gDv = FloatVector.fromArray(S, gD, i0);
        for (int s = t - 1; s >= 0; s--) {
            int r = r0 + s, bo = r * wb + off, go = r * 2 * ds;
            boolean restart = s == 0 || docStart != null && docStart[r] == s;
            FloatVector gy = FloatVector.fromArray(S, gyp, r * dp + i0);
            FloatVector xv = FloatVector.fromArray(S, xp, r * dp + i0), dv = FloatVector.fromArray(S, dtp, r * dp + i0);
            gDv = gy.fma(xv, gDv);
            FloatVector gx = gy.mul(dSkip), gdt = FloatVector.zero(S), dvx = dv.mul(xv);
            for (int n = 0; n < ds; n++) {
                int ho = (r * ds + n) * dp + i0;
                float bn = bcd[bo + n], cn = bcd[bo + ds + n];
                FloatVector h = FloatVector.fromArray(S, hist, ho);
                int co = (go + ds + n) * L, bo2 = (go + n) * L;
                gy.fma(h, FloatVector.fromArray(S, acc, co)).intoArray(acc, co);                    // dC lanes
                FloatVector gh = gy.fma(FloatVector.broadcast(S, cn), FloatVector.fromArray(S, carry, n * L));
                gh.fma(dvx, FloatVector.fromArray(S, acc, bo2)).intoArray(acc, bo2);                // dB lanes
                FloatVector da = FloatVector.fromArray(S, decay, ho);
                if (!restart) {
                    FloatVector gdaDa = gh.mul(FloatVector.fromArray(S, hist, ho - ds * dp)).mul(da);
                    FloatVector a = FloatVector.fromArray(S, aNeg, n * dp + i0);
                    gdaDa.mul(dv).fma(a, FloatVector.fromArray(S, gA, n * dp + i0)).intoArray(gA, n * dp + i0);   // dA/daLog = A
                    gdt = gdaDa.fma(a, gdt);
                }
                gdt = gh.mul(xv).fma(FloatVector.broadcast(S, bn), gdt);
                gx = gh.mul(dv).fma(FloatVector.broadcast(S, bn), gx);
                (restart ? FloatVector.zero(S) : gh.mul(da)).intoArray(carry, n * L);
            }
            gdt.add(FloatVector.fromArray(S, gdtp, r * dp + i0)).intoArray(gdtp, r * dp + i0);
            gx.add(FloatVector.fromArray(S, gxp, r * dp + i0)).intoArray(gxp, r * dp + i0);
        }
        gDv.intoArray(gD, i0);
    }
}
