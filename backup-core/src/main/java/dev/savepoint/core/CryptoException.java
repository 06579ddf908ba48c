package dev.savepoint.core;

import org.jspecify.annotations.Nullable;

/**
 * Encrypted data cannot be decrypted with the keys given: wrong passphrase, no matching secret key, or an
 * unusable key. Messages name key ids, never key material or passphrases.
 */
public class CryptoException extends SavepointException {
  public CryptoException(String message) {
    super(message);
  }

  public CryptoException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
