package io.jlm.formats.gguf;

import java.io.IOException;

/** A GGUF file is malformed or unsupported; the message names the file, the field and what was expected. */
public class GGUFFormatException extends IOException {
    public GGUFFormatException(String message) {
        super(message);
    }
}
