package io.jlm.formats.safetensors;

import java.io.IOException;

/** A safetensors file is malformed; the message names the file, the field and what was expected. */
public class SafetensorsFormatException extends IOException {
    public SafetensorsFormatException(String message) {
        super(message);
    }

    public SafetensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
