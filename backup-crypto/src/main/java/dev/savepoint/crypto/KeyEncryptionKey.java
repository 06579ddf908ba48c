package dev.savepoint.crypto;

import java.io.IOException;

/**
 * A key that wraps per-backup data keys (envelope encryption): AWS KMS, or a local key file for on-premises
 * use and tests. Only wrapped data keys and key ids are ever stored; implementations never log key material.
 */
public interface KeyEncryptionKey {
  /** {@code aws-kms} or {@code local}: recorded in manifests to find the key again. */
  String kind();

  /** The key id (KMS key ARN or alias; a local key's fingerprint). Not secret. */
  String keyId();

  /** A new 256-bit data key, in plaintext (for this backup only) and wrapped (for the manifest). */
  DataKey generateDataKey() throws IOException;

  /** Unwraps a data key wrapped by this key (or, for KMS, by any key the caller may use). */
  byte[] unwrap(byte[] wrapped) throws IOException;

  /** Wraps an existing data key: how rotation re-wraps keys without re-encrypting data. */
  byte[] wrap(byte[] plaintext) throws IOException;

  /** A data key: {@code plaintext} never leaves memory; {@code wrapped} goes into the manifest. */
  record DataKey(byte[] plaintext, byte[] wrapped) {
    @Override
    public String toString() {
      return "DataKey[wrapped, " + wrapped.length + " bytes]";
    }
  }
}
