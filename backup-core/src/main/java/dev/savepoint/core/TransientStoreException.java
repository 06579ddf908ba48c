package dev.savepoint.core;

import org.jspecify.annotations.Nullable;

/** A store operation failed in a way that may succeed if retried (timeouts, throttling, 5xx). */
public class TransientStoreException extends StoreException {
  public TransientStoreException(String message) {
    super(message);
  }

  public TransientStoreException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
