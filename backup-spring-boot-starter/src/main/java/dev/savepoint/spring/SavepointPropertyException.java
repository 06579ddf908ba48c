package dev.savepoint.spring;

/**
 * A {@code savepoint.*} setting (or a bean standing in for one) that cannot work; the message names the key and never
 * its value. The start fails with it, explained in one paragraph rather than a stack trace.
 */
public final class SavepointPropertyException extends IllegalStateException {
  public SavepointPropertyException(String message) {
    super(message);
  }

  public SavepointPropertyException(String message, Throwable cause) {
    super(message, cause);
  }
}
