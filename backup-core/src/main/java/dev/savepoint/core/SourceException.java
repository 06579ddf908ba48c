package dev.savepoint.core;

/** The data source could not be read: unreachable database, dump tool failure, missing directory. */
public class SourceException extends SavepointException {
  public SourceException(String message) {
    super(message);
  }

  public SourceException(String message, Throwable cause) {
    super(message, cause);
  }
}
