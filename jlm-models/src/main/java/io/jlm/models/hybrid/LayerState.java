package io.jlm.models.hybrid;

/**
 * The per-sequence state of one sublayer of a {@link HybridModel} (one object per sublayer; {@code F} has none).
 * Each implementation holds the recurrent (or cached) memory of its mixer and runs the mixer for one token at a
 * time; all of them share their state's scratch buffers, so a step allocates nothing.
 * <ul>
 *   <li>{@link KvLayerState}: {@code A} (keys and values of every position) and {@code W} (a ring buffer of the
 *       last {@code window} positions: bounded memory)</li>
 *   <li>{@link LinearLayerState}: {@code L} and {@code R}, an {@code hs x hs} matrix per head</li>
 *   <li>{@link S4dLayerState}: {@code S}, {@code n} complex modes per channel</li>
 *   <li>{@link H3LayerState}: {@code H}, the last {@code m-1} keys (FIR window) and {@code n} complex modes per channel</li>
 *   <li>{@link MambaLayerState}: {@code M}, the last {@code dconv-1} conv inputs and {@code di x ds} SSM state</li>
 * </ul>
 */
public sealed interface LayerState permits KvLayerState, LinearLayerState, S4dLayerState, H3LayerState, MambaLayerState {

    /** The sublayer letter this state belongs to. */
    char letter();

    /** Bytes of state memory held (not counting the shared scratch buffers). */
    long bytes();

    /** Forgets everything (back to position 0). */
    void reset();
}
