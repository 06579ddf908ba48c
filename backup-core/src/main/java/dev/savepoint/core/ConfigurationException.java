package dev.savepoint.core;

import org.jspecify.annotations.Nullable;

/** Savepoint was configured wrongly: a bad URI, an unsupported scheme, a missing option or secret. */
public class ConfigurationException extends SavepointException {
  public ConfigurationException(String message) {
    super(message);
  }

  public ConfigurationException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
