package io.jlm.models;

/** A model file does not match what its architecture requires (missing/ill-shaped tensor, bad metadata). */
public class ModelFormatException extends IllegalArgumentException {
    public ModelFormatException(String message) {
        super(message);
    }
}
