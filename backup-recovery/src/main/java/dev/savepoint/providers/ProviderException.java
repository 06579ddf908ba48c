package dev.savepoint.providers;

import dev.savepoint.core.RestoreException;

/**
 * A managed provider refused or failed a request: the token was refused, the project is unknown, the target time
 * is outside the provider's window, or the restore operation failed. The message names the provider, the request
 * and the provider's own reason, never the token.
 */
public class ProviderException extends RestoreException {
  private final int status;

  public ProviderException(String message, int status) {
    super(message);
    this.status = status;
  }

  /** The HTTP status the provider answered, or 0 when the failure was not an HTTP answer. */
  public int status() {
    return status;
  }
}
