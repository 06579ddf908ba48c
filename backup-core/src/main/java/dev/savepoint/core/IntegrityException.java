package dev.savepoint.core;

import org.jspecify.annotations.Nullable;

/**
 * Stored data is not what the manifest says it is: a digest or size mismatch, a truncated or corrupt
 * object, a malformed manifest. The message names the object, the expected and the actual value.
 */
public class IntegrityException extends SavepointException {
  public IntegrityException(String message) {
    super(message);
  }

  public IntegrityException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
