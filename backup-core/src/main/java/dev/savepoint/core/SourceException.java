package dev.savepoint.core;

import org.jspecify.annotations.Nullable;

/** The data source could not be read: unreachable database, dump tool failure, missing directory. */
public class SourceException extends SavepointException {
  public SourceException(String message) {
    super(message);
  }

  public SourceException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
