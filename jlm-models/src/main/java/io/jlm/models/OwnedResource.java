package io.jlm.models;

/**
 * A resource that a model closes together with itself (e.g. the mapped GGUF file holding its weights); the models'
 * shared {@code closing(r)} / {@code close()} logic.
 */
public final class OwnedResource {
    private volatile AutoCloseable resource;

    /** Makes {@link #close()} close {@code r} (replacing any earlier one, which is then not closed). */
    public void set(AutoCloseable r) {
        this.resource = r;
    }

    /** Closes the resource once (later calls do nothing); a failure is rethrown as {@link IllegalStateException}. */
    public void close() {
        AutoCloseable r = resource;
        resource = null;
        if (r != null) {
            try {
                r.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing model resources failed: " + e.getMessage(), e);
            }
        }
    }
}
