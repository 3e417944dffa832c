package io.jlm.models.hybrid;

import io.jlm.core.quant.Kernels;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;
import io.jlm.models.ModelFormatException;
import io.jlm.models.WeightSource;
import io.jlm.models.mamba.MambaWeights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Weights of a {@code jlm} hybrid model. Projections stay in their file type as {@link QMatrix} (rows = outputs,
 * memory-mapped); small per-channel tensors are dequantized to float32 at load time, and the S4D parameters are
 * discretized once (in double) at load time.
 *
 * @param positionEmbedding {@code position_embd} ({@code [ctx, d]}), only with learned positions, else null
 * @param output            {@code output.weight}, or {@code token_embd} when the file has no output tensor (tied)
 */
public record HybridWeights(QMatrix tokenEmbedding, QMatrix positionEmbedding, float[] outputNorm, QMatrix output,
                            List<Sublayer> layers) {

    /** One residual sublayer: {@code x += mixer(rms(x) * norm)}. */
    public record Sublayer(char letter, float[] norm, Mixer mixer) {
    }

    /** The token mixer of one sublayer, one record per kind. */
    public sealed interface Mixer permits Attention, Ffn, Linear, Retention, S4d, H3, Mamba {
    }

    /** {@code A} and {@code W}: q {@code [nh*hs, d]}, k and v {@code [nkv*hs, d]}, o {@code [d, nh*hs]}. */
    public record Attention(QMatrix q, QMatrix k, QMatrix v, QMatrix o) implements Mixer {
    }

    /** {@code F}: SwiGLU. */
    public record Ffn(QMatrix gate, QMatrix up, QMatrix down) implements Mixer {
    }

    /** {@code L}: linear attention, all {@code [d, d]}. */
    public record Linear(QMatrix q, QMatrix k, QMatrix v, QMatrix o) implements Mixer {
    }

    /** {@code R}: retention, all {@code [d, d]}. */
    public record Retention(QMatrix q, QMatrix k, QMatrix v, QMatrix o, QMatrix gate) implements Mixer {
    }

    /** {@code S}: the SSM and the output projection {@code s4d_out [d, d]}. */
    public record S4d(Ssm ssm, QMatrix out) implements Mixer {
    }

    /** {@code H}: projections {@code [d, d]}, shift taps {@code [d][m]} (row-major, tap m-1 on the current token). */
    public record H3(QMatrix q, QMatrix k, QMatrix v, QMatrix o, float[] shift, Ssm ssm) implements Mixer {
    }

    /** {@code M}: a Mamba-1 block with the sublayer's norm as its {@code norm}. */
    public record Mamba(MambaWeights.Layer layer) implements Mixer {
    }

    /**
     * A discretized S4D SSM, index {@code c * modes + r} for channel c and mode r: {@code dA = exp(dt A)} and
     * {@code cb = C dB} with {@code dB = (dA - 1) / A}. The engine keeps {@code g = h / dB}, so the recurrence is
     * {@code g = dA g + u}, {@code y = 2 Re(sum_r cb g) + D u} (the same values as {@code h = dA h + dB u},
     * {@code y = 2 Re(sum_r C h) + D u}).
     */
    public record Ssm(int channels, int modes, float[] dARe, float[] dAIm, float[] cbRe, float[] cbIm, float[] d) {

        /** Discretizes the exported parameters (row-major {@code [channels][modes]}) in double precision. */
        static Ssm discretize(int channels, int modes, float[] logDt, float[] aLog, float[] aIm, float[] cRe,
                              float[] cIm, float[] d) {
            int n = channels * modes;
            float[] dar = new float[n], dai = new float[n], cbr = new float[n], cbi = new float[n];
            for (int c = 0; c < channels; c++) {
                double dt = Math.exp(logDt[c]);
                for (int r = 0; r < modes; r++) {
                    int i = c * modes + r;
                    double ar = -Math.exp(aLog[i]), ai = aIm[i];
                    double zr = dt * ar, zi = dt * ai;
                    double mag = Math.exp(zr);
                    double er = mag * Math.cos(zi), ei = mag * Math.sin(zi);
                    // dA - 1 without cancellation: expm1(zr) cos(zi) - 2 sin^2(zi / 2)
                    double half = Math.sin(zi / 2);
                    double nr = Math.expm1(zr) * Math.cos(zi) - 2 * half * half, ni = ei;
                    double den = ar * ar + ai * ai; // > 0: ar = -exp(.) < 0
                    double br = (nr * ar + ni * ai) / den, bi = (ni * ar - nr * ai) / den;
                    double cr = cRe[i], ci = cIm[i];
                    dar[i] = (float) er;
                    dai[i] = (float) ei;
                    cbr[i] = (float) (cr * br - ci * bi);
                    cbi[i] = (float) (cr * bi + ci * br);
                }
            }
            return new Ssm(channels, modes, dar, dai, cbr, cbi, d);
        }
    }

    /** Reads and checks every tensor the pattern of {@code c} needs. */
    static HybridWeights load(WeightSource src, HybridConfig c) {
        return new Loader(src, c).load();
    }

    private static final class Loader {
        private final WeightSource src;
        private final HybridConfig c;
        /** Context of the tensor being read, for error messages (e.g. "sublayer 2 'A' of \"AFWF\""). */
        private String context = "";

        Loader(WeightSource src, HybridConfig c) {
            this.src = src;
            this.c = c;
        }

        HybridWeights load() {
            int d = c.dim(), v = c.vocabSize();
            QMatrix emb = matrix("token_embd.weight", v, d);
            QMatrix pos = c.position() == HybridConfig.Position.LEARNED
                    ? matrix("position_embd.weight", c.contextLength(), d) : null;
            float[] outNorm = vector("output_norm.weight", d);
            QMatrix output = src.tensor("output.weight") != null ? matrix("output.weight", v, d) : emb;
            List<Sublayer> ls = new ArrayList<>(c.layers());
            for (int i = 0; i < c.layers(); i++) {
                char letter = c.letter(i);
                context = " for sublayer " + i + " '" + letter + "' of \"" + c.pattern() + "\"";
                String p = "blk." + i + ".";
                float[] norm = vector(p + "norm.weight", d);
                ls.add(new Sublayer(letter, norm, mixer(letter, p, norm)));
            }
            context = "";
            return new HybridWeights(emb, pos, outNorm, output, List.copyOf(ls));
        }

        private Mixer mixer(char letter, String p, float[] norm) {
            int d = c.dim(), hs = c.headDim();
            return switch (letter) {
                case 'A', 'W' -> new Attention(matrix(p + "attn_q.weight", c.heads() * hs, d),
                        matrix(p + "attn_k.weight", c.kvHeads() * hs, d),
                        matrix(p + "attn_v.weight", c.kvHeads() * hs, d),
                        matrix(p + "attn_output.weight", d, c.heads() * hs));
                case 'F' -> new Ffn(matrix(p + "ffn_gate.weight", c.ffnDim(), d),
                        matrix(p + "ffn_up.weight", c.ffnDim(), d),
                        matrix(p + "ffn_down.weight", d, c.ffnDim()));
                case 'L' -> new Linear(matrix(p + "attn_q.weight", d, d), matrix(p + "attn_k.weight", d, d),
                        matrix(p + "attn_v.weight", d, d), matrix(p + "attn_output.weight", d, d));
                case 'R' -> new Retention(matrix(p + "attn_q.weight", d, d), matrix(p + "attn_k.weight", d, d),
                        matrix(p + "attn_v.weight", d, d), matrix(p + "attn_output.weight", d, d),
                        matrix(p + "attn_gate.weight", d, d));
                case 'S' -> new S4d(ssm(p), matrix(p + "s4d_out.weight", d, d));
                case 'H' -> new H3(matrix(p + "attn_q.weight", d, d), matrix(p + "attn_k.weight", d, d),
                        matrix(p + "attn_v.weight", d, d), matrix(p + "attn_output.weight", d, d),
                        vector(p + "h3_shift.weight", d, c.h3Shift()), ssm(p));
                case 'M' -> {
                    int di = c.dInner(), ds = c.dState(), dtr = c.dtRank();
                    yield new Mamba(new MambaWeights.Layer(norm,
                            matrix(p + "ssm_in.weight", 2 * di, d),
                            vector(p + "ssm_conv1d.weight", di, c.dConv()),
                            vector(p + "ssm_conv1d.bias", di),
                            matrix(p + "ssm_x.weight", dtr + 2 * ds, di),
                            matrix(p + "ssm_dt.weight", di, dtr),
                            vector(p + "ssm_dt.bias", di),
                            vector(p + "ssm_a.weight", di, ds),
                            vector(p + "ssm_d.weight", di),
                            matrix(p + "ssm_out.weight", d, di)));
                }
                default -> throw new ModelFormatException(src.name() + ": unknown sublayer letter '" + letter + "'");
            };
        }

        private Ssm ssm(String p) {
            int d = c.dim(), n = c.s4dModes();
            return Ssm.discretize(d, n, vector(p + "s4d_log_dt.weight", d), vector(p + "s4d_a_log.weight", d, n),
                    vector(p + "s4d_a_im.weight", d, n), vector(p + "s4d_c_re.weight", d, n),
                    vector(p + "s4d_c_im.weight", d, n), vector(p + "s4d_d.weight", d));
        }

        /** "[rows, cols] (GGUF ne = [cols, rows])" for spec dimensions given rows first. */
        private static String describe(long... dims) {
            long[] ne = new long[dims.length];
            for (int i = 0; i < dims.length; i++) ne[i] = dims[dims.length - 1 - i];
            return Arrays.toString(dims) + (dims.length > 1 ? " (rows x cols; GGUF ne = " + Arrays.toString(ne) + ")" : "");
        }

        /** The tensor {@code name} whose spec shape (rows first) is {@code dims}, checked. */
        private WeightSource.Tensor shaped(String name, long... dims) {
            WeightSource.Tensor t = src.tensor(name);
            if (t == null) {
                throw new ModelFormatException(src.name() + ": tensor '" + name + "' is missing" + context
                        + "; expected shape " + describe(dims));
            }
            long[] ne = new long[dims.length];
            for (int i = 0; i < dims.length; i++) ne[i] = dims[dims.length - 1 - i];
            if (!Arrays.equals(t.shape(), ne)) {
                long[] got = new long[t.shape().length];
                for (int i = 0; i < got.length; i++) got[i] = t.shape()[got.length - 1 - i];
                throw new ModelFormatException(src.name() + ": tensor '" + name + "'" + context + " has shape "
                        + describe(got) + "; expected " + describe(dims));
            }
            if (!Kernels.isSupported(t.type())) {
                throw new ModelFormatException(src.name() + ": tensor '" + name + "' has unsupported type " + t.type());
            }
            if (ne[0] % t.type().blockSize() != 0) {
                throw new ModelFormatException(src.name() + ": tensor '" + name + "' row length " + ne[0]
                        + " is not a multiple of the " + t.type() + " block size " + t.type().blockSize());
            }
            return t;
        }

        /** A matrix of {@code rows} outputs by {@code cols} inputs (spec {@code [rows, cols]}). */
        private QMatrix matrix(String name, int rows, int cols) {
            WeightSource.Tensor t = shaped(name, rows, cols);
            return new QMatrix(t.type(), rows, cols, t.data());
        }

        /** A small tensor of spec shape {@code dims} (rows first), dequantized to float32, row-major. */
        private float[] vector(String name, long... dims) {
            WeightSource.Tensor t = shaped(name, dims);
            GGMLType type = t.type();
            long n = 1;
            for (long s : dims) n *= s;
            float[] out = new float[Math.toIntExact(n)];
            Kernels.of(type).dequantize(t.data(), 0, out, 0, out.length);
            return out;
        }
    }
}
