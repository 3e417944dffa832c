package io.jlm.models.mamba;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.core.quant.Kernels;
import io.jlm.core.tensor.GGMLType;
import io.jlm.core.tensor.QMatrix;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelFormatException;
import io.jlm.models.ModelState;
import io.jlm.models.OwnedResource;
import io.jlm.models.WeightSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Mamba-1 selective state-space language model (GGUF architecture {@code mamba}, as llama.cpp implements it).
 * Holds only weights; the per-sequence recurrent state (convolution window and SSM state per layer, constant size)
 * and scratch buffers live in a {@link MambaState}.
 */
public final class MambaModel implements LanguageModel {
    /** Default number of tokens one prefill step processes with matrix-matrix products. */
    public static final int DEFAULT_PREFILL_CHUNK = 64;

    private final MambaConfig config;
    private final MambaWeights weights;
    private final ThreadPool pool;
    private final ModelConfig modelConfig;
    private final OwnedResource resource = new OwnedResource();

    public MambaModel(MambaConfig config, MambaWeights weights, ThreadPool pool) {
        if (pool == null) throw new IllegalArgumentException("pool must not be null");
        this.config = config;
        this.weights = weights;
        this.pool = pool;
        this.modelConfig = config.toModelConfig();
    }

    /** Builds the model from a mapped GGUF file; the file must stay open while the model is used (it is not closed by {@link #close()}). */
    public static MambaModel load(GGUFFile file, ThreadPool pool) {
        return load(WeightSource.of(file), pool);
    }

    /** Builds the model from metadata and tensors of {@code src} (general.architecture must be {@code mamba}). */
    public static MambaModel load(WeightSource src, ThreadPool pool) {
        return new Loader(src).load(pool);
    }

    /** Makes {@link #close()} also close {@code r} (e.g. the mapped GGUF file holding the weights). */
    public MambaModel closing(AutoCloseable r) {
        resource.set(r);
        return this;
    }

    public MambaConfig mambaConfig() { return config; }

    public MambaWeights weights() { return weights; }

    ThreadPool pool() { return pool; }

    @Override
    public ModelConfig config() { return modelConfig; }

    @Override
    public MambaState newState(int maxContext) {
        return newState(maxContext, DEFAULT_PREFILL_CHUNK);
    }

    /** A state whose prefill processes at most {@code prefillChunk} tokens per step (scratch memory grows with it). */
    public MambaState newState(int maxContext, int prefillChunk) {
        if (maxContext < 1) throw new IllegalArgumentException("maxContext must be >= 1, got " + maxContext);
        if (prefillChunk < 1) throw new IllegalArgumentException("prefillChunk must be >= 1, got " + prefillChunk);
        return new MambaState(this, maxContext, Math.min(prefillChunk, maxContext));
    }

    /**
     * {@inheritDoc}
     * <p>With {@code allLogits == false} the returned array is a buffer owned by the state and is overwritten by the
     * next forward call on that state; with {@code allLogits} a new array is returned.
     */
    @Override
    public float[] forward(ModelState state, int[] tokens, boolean allLogits) {
        if (!(state instanceof MambaState s) || s.model() != this) {
            throw new IllegalArgumentException("state was not created by this model (" + config.name() + ")");
        }
        return s.forward(tokens, allLogits);
    }

    @Override
    public void close() {
        resource.close();
    }

    @Override
    public String toString() {
        return "MambaModel[" + config + "]";
    }

    /** Reads and checks metadata and tensors. */
    private static final class Loader {
        private static final String ARCH = "mamba";
        private final WeightSource src;
        private final GGUFMetadata md;

        Loader(WeightSource src) {
            this.src = src;
            this.md = src.metadata();
        }

        MambaModel load(ThreadPool pool) {
            String arch = md.getString("general.architecture");
            if (!ARCH.equals(arch)) {
                throw new ModelFormatException(src.name() + ": general.architecture is '" + arch + "', expected 'mamba'");
            }
            int dim = positive(ARCH + ".embedding_length");
            int layers = positive(ARCH + ".block_count");
            int dConv = positive(ARCH + ".ssm.conv_kernel");
            int dInner = positive(ARCH + ".ssm.inner_size");
            int dState = positive(ARCH + ".ssm.state_size");
            int dtRank = positive(ARCH + ".ssm.time_step_rank");
            float eps = md.getFloat(ARCH + ".attention.layer_norm_rms_epsilon", 1e-5f);
            boolean dtBcRms = md.getBoolean(ARCH + ".ssm.dt_b_c_rms", false);
            int ctx = md.getInt(ARCH + ".context_length", 0);

            WeightSource.Tensor emb = require("token_embd.weight");
            if (emb.shape().length != 2 || emb.shape()[0] != dim) {
                throw shapeError(emb, "[" + dim + ", n_vocab]");
            }
            int vocab = Math.toIntExact(emb.shape()[1]);
            QMatrix tokenEmbd = matrix("token_embd.weight", dim, vocab);
            float[] outNorm = vector("output_norm.weight", dim);
            QMatrix output = src.tensor("output.weight") != null ? matrix("output.weight", dim, vocab) : tokenEmbd;

            List<MambaWeights.Layer> ls = new ArrayList<>(layers);
            int nx = dtRank + 2 * dState;
            for (int l = 0; l < layers; l++) {
                String p = "blk." + l + ".";
                ls.add(new MambaWeights.Layer(
                        vector(p + "attn_norm.weight", dim),
                        matrix(p + "ssm_in.weight", dim, 2 * dInner),
                        vector(p + "ssm_conv1d.weight", dConv, dInner),
                        vector(p + "ssm_conv1d.bias", dInner),
                        matrix(p + "ssm_x.weight", dInner, nx),
                        matrix(p + "ssm_dt.weight", dtRank, dInner),
                        vector(p + "ssm_dt.bias", dInner),
                        vector(p + "ssm_a", dState, dInner),
                        vector(p + "ssm_d", dInner),
                        matrix(p + "ssm_out.weight", dInner, dim)));
            }
            String name = md.getString("general.name", src.name());
            MambaConfig cfg = new MambaConfig(name, dim, layers, vocab, ctx, dConv, dInner, dState, dtRank, eps, dtBcRms);
            return new MambaModel(cfg, new MambaWeights(tokenEmbd, outNorm, output, List.copyOf(ls)), pool);
        }

        private int positive(String key) {
            if (!md.contains(key)) {
                throw new ModelFormatException(src.name() + ": metadata '" + key + "' is missing; expected a positive integer");
            }
            int v = md.getInt(key, 0);
            if (v <= 0) throw new ModelFormatException(src.name() + ": metadata '" + key + "' = " + v + "; expected a positive integer");
            return v;
        }

        private WeightSource.Tensor require(String name) {
            WeightSource.Tensor t = src.tensor(name);
            if (t == null) throw new ModelFormatException(src.name() + ": tensor '" + name + "' is missing");
            return t;
        }

        private ModelFormatException shapeError(WeightSource.Tensor t, String expected) {
            return new ModelFormatException(src.name() + ": tensor '" + t.name() + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + expected);
        }

        private WeightSource.Tensor shaped(String name, long... shape) {
            WeightSource.Tensor t = require(name);
            if (!Arrays.equals(t.shape(), shape)) throw shapeError(t, Arrays.toString(shape));
            if (!Kernels.isSupported(t.type())) {
                throw new ModelFormatException(src.name() + ": tensor '" + name + "' has unsupported type " + t.type());
            }
            return t;
        }

        /** A GGUF matrix of shape [cols, rows] (cols contiguous). */
        private QMatrix matrix(String name, int cols, int rows) {
            WeightSource.Tensor t = shaped(name, cols, rows);
            if (cols % t.type().blockSize() != 0) {
                throw new ModelFormatException(src.name() + ": tensor '" + name + "' row length " + cols
                        + " is not a multiple of the " + t.type() + " block size " + t.type().blockSize());
            }
            return new QMatrix(t.type(), rows, cols, t.data());
        }

        /** A small tensor of the given GGUF shape, dequantized to float32 (row-major, shape[0] contiguous). */
        private float[] vector(String name, long... shape) {
            WeightSource.Tensor t = shaped(name, shape);
            GGMLType type = t.type();
            if (shape[0] % type.blockSize() != 0) {
                throw new ModelFormatException(src.name() + ": tensor '" + name + "' row length " + shape[0]
                        + " is not a multiple of the " + type + " block size " + type.blockSize());
            }
            long n = 1;
            for (long s : shape) n *= s;
            float[] out = new float[Math.toIntExact(n)];
            Kernels.of(type).dequantize(t.data(), 0, out, 0, out.length);
            return out;
        }
    }
}
