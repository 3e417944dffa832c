package io.jlm.eval.experiment;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An architecture comparison, read from JSON: several layer patterns ({@code models}) trained under the same token
 * budget on each synthetic task, evaluated per sequence length, and timed at decode over growing contexts.
 * See {@code docs/experiments/README.md} for the format.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record ExperimentSpec(String name, String description, long seed, ModelSpec model, TrainSpec train,
                             List<Arch> models, List<TaskSpec> tasks, DecodeSpec decode) {

    /**
     * Shared sizes: width, heads, MLP width, the mixers' settings and, optionally, the initialisation spread
     * ({@code initStd}, default {@link io.jlm.train.Model#DEFAULT_INIT_STD}).
     */
    public record ModelSpec(int dim, int heads, int ffn, int window, int s4dModes, String position, Double initStd) {
        public float init() { return initStd == null ? io.jlm.train.Model.DEFAULT_INIT_STD : initStd.floatValue(); }
    }

    /**
     * The same budget for every model: steps x batch x sequence length tokens. With {@code packed}, each row holds as
     * many examples as fit, with document masking (no attention or state across examples), instead of one padded example.
     */
    public record TrainSpec(int steps, int batch, double lr, double minLr, int warmup, double weightDecay, int threads,
                            Boolean packed) {
        /** {@code packed} is optional (default false). */
        public boolean isPacked() { return packed != null && packed; }
    }

    /** One architecture: a label, its sublayer pattern (docs/JLM_ARCH.md) and optionally its own positional encoding. */
    public record Arch(String name, String layers, String position) {}

    /**
     * A task: training draws each sequence from one of the {@code train} parameter sets (padded to the longest);
     * each {@code eval} parameter set is scored separately ({@code evalExamples} sequences), labelled by its length.
     * The optional {@code label} names the task in the report and output files (default: the task name), so that one
     * spec can train the same task in several regimes, each model from scratch.
     */
    public record TaskSpec(String task, String label, List<Map<String, String>> train, List<Map<String, String>> eval,
                           int evalExamples) {
        /** The name of this task's section and files: {@code label}, else {@code task}. */
        public String id() { return label != null ? label : task; }
    }

    /** Decode speed: tokens per second after prefilling each context length (the model trained on the first task). */
    public record DecodeSpec(List<Integer> contexts, int tokens) {}

    public static ExperimentSpec read(Path file) throws IOException {
        ObjectMapper om = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        ExperimentSpec s;
        try {
            s = om.readValue(Files.readString(file), ExperimentSpec.class);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("experiment spec " + file + " does not exist");
        } catch (JsonMappingException e) {
            throw new IllegalArgumentException("experiment spec " + file + ": " + e.getOriginalMessage() + " at "
                    + e.getPathReference());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("experiment spec " + file + " is not valid JSON: " + e.getOriginalMessage());
        }
        s.validate(file);
        return s;
    }

    private void validate(Path file) {
        String f = "experiment spec " + file + ": ";
        if (name == null || !name.matches("[A-Za-z0-9._-]+")) throw new IllegalArgumentException(f + "name must be a plain word, got " + name);
        if (model == null || model.dim <= 0 || model.heads <= 0 || model.ffn <= 0)
            throw new IllegalArgumentException(f + "model needs positive dim, heads and ffn");
        if (model.initStd != null && !(model.initStd > 0 && model.initStd < 10))
            throw new IllegalArgumentException(f + "model.initStd is " + model.initStd + "; expected a number in (0, 10)");
        if (train == null || train.steps <= 0 || train.batch <= 0 || !(train.lr > 0))
            throw new IllegalArgumentException(f + "train needs positive steps, batch and lr");
        if (models == null || models.isEmpty()) throw new IllegalArgumentException(f + "models is empty");
        for (Arch a : models) if (a.name == null || a.layers == null)
            throw new IllegalArgumentException(f + "every entry of models needs a name and layers");
        if (tasks == null || tasks.isEmpty()) throw new IllegalArgumentException(f + "tasks is empty");
        for (int i = 0; i < tasks.size(); i++) {
            TaskSpec t = tasks.get(i);
            if (t.task == null || t.train == null || t.train.isEmpty() || t.eval == null || t.eval.isEmpty() || t.evalExamples <= 0)
                throw new IllegalArgumentException(f + "every task needs task, non-empty train and eval lists and evalExamples > 0");
            if (t.label != null && !t.label.matches("[A-Za-z0-9._-]+"))
                throw new IllegalArgumentException(f + "tasks[" + i + "].label must be a plain word (letters, digits, . _ -), got '" + t.label + "'");
            for (int j = 0; j < i; j++) if (tasks.get(j).id().equals(t.id()))
                throw new IllegalArgumentException(f + "tasks[" + j + "] and tasks[" + i + "] are both named '" + t.id()
                        + "'; give them distinct labels");
            boolean fromStart = false;
            for (int j = 0; j < t.train.size(); j++) {
                int from;
                try {
                    from = fromStep(t.train.get(j));
                } catch (NumberFormatException e) {
                    from = -1;
                }
                if (from < 0 || from >= train.steps)
                    throw new IllegalArgumentException(f + "tasks[" + i + "].train[" + j + "]." + FROM_STEP + " is '"
                            + t.train.get(j).get(FROM_STEP) + "'; expected a step in [0, " + train.steps + ")");
                fromStart |= from == 0;
            }
            if (!fromStart) throw new IllegalArgumentException(f + "tasks[" + i + "].train: every entry has a " + FROM_STEP
                    + " > 0; at least one must be used from step 0");
            for (int j = 0; j < t.eval.size(); j++) if (t.eval.get(j).containsKey(FROM_STEP))
                throw new IllegalArgumentException(f + "tasks[" + i + "].eval[" + j + "]: " + FROM_STEP + " applies to train entries only");
        }
    }

    /**
     * Key of a {@code train} parameter set naming the step from which it joins the mix (default 0): a curriculum, e.g.
     * short examples alone until a mechanism forms, then longer ones as well.
     */
    public static final String FROM_STEP = "fromStep";

    /** The step from which a {@code train} parameter set is drawn (0 without the key; NumberFormatException if not a number). */
    static int fromStep(Map<String, String> params) {
        String v = params.get(FROM_STEP);
        return v == null ? 0 : Integer.parseInt(v.trim());
    }
}
