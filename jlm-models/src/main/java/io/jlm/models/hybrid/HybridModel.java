package io.jlm.models.hybrid;

import io.jlm.core.parallel.ThreadPool;
import io.jlm.formats.gguf.GGUFFile;
import io.jlm.formats.gguf.GGUFMetadata;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelFormatException;
import io.jlm.models.ModelState;
import io.jlm.models.OwnedResource;
import io.jlm.models.WeightSource;

import java.util.Arrays;

/**
 * A {@code jlm} hybrid model (GGUF {@code general.architecture = "jlm"}, docs/JLM_ARCH.md): a stack of residual
 * sublayers, each softmax attention (full or sliding window), SwiGLU MLP, linear attention, retention, S4D, H3 or
 * Mamba, given by a pattern string. Holds only weights; every sublayer's per-sequence state lives in a
 * {@link HybridState}, which runs the recurrent form of each mixer one token at a time.
 */
public final class HybridModel implements LanguageModel {
    private final HybridConfig config;
    private final HybridWeights weights;
    private final ThreadPool pool;
    private final ModelConfig modelConfig;
    private final OwnedResource resource = new OwnedResource();

    public HybridModel(HybridConfig config, HybridWeights weights, ThreadPool pool) {
        if (pool == null) throw new IllegalArgumentException("pool must not be null");
        this.config = config;
        this.weights = weights;
        this.pool = pool;
        this.modelConfig = config.toModelConfig();
    }

    /** Builds the model from a mapped GGUF file; the file must stay open while the model is used. */
    public static HybridModel load(GGUFFile file, ThreadPool pool) {
        return load(WeightSource.of(file), pool);
    }

    /** Builds the model from metadata and tensors of {@code src} ({@code general.architecture} must be {@code jlm}). */
    public static HybridModel load(WeightSource src, ThreadPool pool) {
        GGUFMetadata md = src.metadata();
        String arch = md.getString("general.architecture");
        if (!HybridConfig.ARCH.equals(arch)) {
            throw new ModelFormatException(src.name() + ": general.architecture is '" + arch + "', expected '"
                    + HybridConfig.ARCH + "'");
        }
        int dim = HybridConfig.embeddingLength(md, src.name());
        WeightSource.Tensor emb = src.tensor("token_embd.weight");
        if (emb == null) {
            throw new ModelFormatException(src.name() + ": tensor 'token_embd.weight' is missing; expected shape [n_vocab, "
                    + dim + "] (rows x cols; GGUF ne = [" + dim + ", n_vocab])");
        }
        if (emb.shape().length != 2 || emb.shape()[0] != dim) {
            throw new ModelFormatException(src.name() + ": tensor 'token_embd.weight' has GGUF ne = "
                    + Arrays.toString(emb.shape()) + "; expected [" + dim + ", n_vocab] (rows x cols [n_vocab, " + dim + "])");
        }
        HybridConfig cfg = HybridConfig.fromMetadata(md, src.name(), Math.toIntExact(emb.shape()[1]));
        return new HybridModel(cfg, HybridWeights.load(src, cfg), pool);
    }

    /** Makes {@link #close()} also close {@code r} (e.g. the mapped GGUF file holding the weights). */
    public HybridModel closing(AutoCloseable r) {
        resource.set(r);
        return this;
    }

    public HybridConfig hybridConfig() { return config; }

    public HybridWeights weights() { return weights; }

    ThreadPool pool() { return pool; }

    @Override
    public ModelConfig config() { return modelConfig; }

    /**
     * {@inheritDoc}
     * <p>With learned position embeddings the capacity is at most {@code jlm.context_length} (there is no embedding
     * past it). Full-attention sublayers allocate keys and values for the capacity; sliding-window ones for
     * {@code min(window, capacity)} positions; the other sublayers hold constant-size state.
     */
    @Override
    public HybridState newState(int maxContext) {
        if (maxContext < 1) throw new IllegalArgumentException("maxContext must be >= 1, got " + maxContext);
        int cap = config.position() == HybridConfig.Position.LEARNED ? Math.min(maxContext, config.contextLength())
                : maxContext;
        return new HybridState(this, cap);
    }

    /**
     * {@inheritDoc}
     * <p>With {@code allLogits == false} the returned array is a buffer owned by the state and is overwritten by the
     * next forward call on that state; with {@code allLogits} a new array is returned.
     */
    @Override
    public float[] forward(ModelState state, int[] tokens, boolean allLogits) {
        return own(state).forward(tokens, allLogits);
    }

    @Override
    public float[] embed(ModelState state, int[] tokens, boolean mean) {
        return own(state).embed(tokens, mean);
    }

    private HybridState own(ModelState state) {
        if (!(state instanceof HybridState s) || s.model() != this) {
            throw new IllegalArgumentException("state was not created by this model (" + config.name() + ")");
        }
        return s;
    }

    @Override
    public void close() {
        resource.close();
    }

    @Override
    public String toString() {
        return "HybridModel[" + config + "]";
    }
}
