package io.jlm.cli;

import io.jlm.models.BatchEntry;
import io.jlm.models.LanguageModel;
import io.jlm.models.ModelConfig;
import io.jlm.models.ModelState;
import io.jlm.models.state.KvCache;
import io.jlm.models.state.KvPolicy;
import io.jlm.models.transformer.TransformerState;

import java.util.List;
import java.util.Locale;

/**
 * A model whose new states use a {@link KvPolicy} (so that sessions, resets and benchmarks that create states
 * themselves all get the policy's cache). Remembers the last state it created, for the KV statistics line.
 */
final class KvPolicyModel implements LanguageModel {
    private final LanguageModel model;
    private final KvPolicy policy;
    private ModelState last;

    private KvPolicyModel(LanguageModel model, KvPolicy policy) {
        this.model = model;
        this.policy = policy;
    }

    /** {@code model} itself for the default policy, else a wrapper creating states with {@code spec}. */
    static LanguageModel of(LanguageModel model, String spec) {
        KvPolicy p = KvPolicy.parse(spec);
        if (p instanceof KvPolicy.Full f && f.type() == io.jlm.core.tensor.GGMLType.F16) return model;
        model.newState(1, p); // fails early, naming the policy, for models without a KV cache
        return new KvPolicyModel(model, p);
    }

    @Override public ModelConfig config() { return model.config(); }

    @Override
    public ModelState newState(int maxContext) {
        last = model.newState(maxContext, policy);
        return last;
    }

    @Override
    public ModelState newState(int maxContext, KvPolicy policy) { return model.newState(maxContext, policy); }

    @Override
    public float[] forward(ModelState state, int[] tokens, boolean allLogits) {
        return model.forward(state, tokens, allLogits);
    }

    @Override
    public List<float[]> forwardBatch(List<BatchEntry> entries) { return model.forwardBatch(entries); }

    @Override
    public void close() { model.close(); }

    /** "kv cache: <policy>, <MiB> held" for a state, or null when the state has no KV cache. */
    static String describe(ModelState state) {
        if (!(state instanceof TransformerState ts)) return null;
        KvCache c = ts.cache();
        return String.format(Locale.ROOT, "kv cache: %s, %.3f MiB held (%d bytes) at %d positions", c.describe(),
                c.bytes() / (1024.0 * 1024.0), c.bytes(), state.position());
    }

    ModelState lastState() { return last; }
}
