package dev.savepoint.core;

/** Writing restored data into its target failed; the message says what state the target is in. */
public class RestoreException extends SavepointException {
  public RestoreException(String message) {
    super(message);
  }

  public RestoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
