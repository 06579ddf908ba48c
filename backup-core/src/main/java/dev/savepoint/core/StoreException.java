package dev.savepoint.core;

import org.jspecify.annotations.Nullable;

/** A store operation failed permanently: retrying the same request will not help. */
public class StoreException extends SavepointException {
  public StoreException(String message) {
    super(message);
  }

  public StoreException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
