package dev.savepoint.core;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * Root of Savepoint's error hierarchy. Every subclass names what failed and, where it can, what to do.
 * Messages never contain secrets (passwords, keys, credentials).
 */
public class SavepointException extends IOException {
  public SavepointException(String message) {
    super(message);
  }

  public SavepointException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
