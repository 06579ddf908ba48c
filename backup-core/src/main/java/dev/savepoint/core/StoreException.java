package dev.savepoint.core;

/** A store operation failed permanently: retrying the same request will not help. */
public class StoreException extends SavepointException {
  public StoreException(String message) {
    super(message);
  }

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
