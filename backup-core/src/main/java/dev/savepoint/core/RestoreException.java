package dev.savepoint.core;

import org.jspecify.annotations.Nullable;

/** Writing restored data into its target failed; the message says what state the target is in. */
public class RestoreException extends SavepointException {
  public RestoreException(String message) {
    super(message);
  }

  public RestoreException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
