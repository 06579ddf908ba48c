package dev.savepoint.crypto;

import dev.savepoint.core.CryptoException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A key-encryption key in a local file (32 random bytes): wraps data keys with AES-256-GCM. For on-premises
 * installations and tests. Its key id is the first 16 hex digits of the SHA-256 of the key.
 */
public final class LocalKeyEncryptionKey implements KeyEncryptionKey {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final byte[] key;
  private final String keyId;

  private LocalKeyEncryptionKey(byte[] key) throws CryptoException {
    if (key.length != 32) {
      throw new CryptoException("a local key-encryption key must be 32 bytes, found " + key.length);
    }
    this.key = key.clone();
    try {
      this.keyId = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key)).substring(0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Creates a new key file readable only by its owner. */
  public static LocalKeyEncryptionKey generate(Path file) throws IOException {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    Files.write(file, key, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // Not a POSIX filesystem.
    }
    return new LocalKeyEncryptionKey(key);
  }

  public static LocalKeyEncryptionKey fromFile(Path file) throws IOException {
    return new LocalKeyEncryptionKey(Files.readAllBytes(file));
  }

  @Override
  public String kind() {
    return "local";
  }

  @Override
  public String keyId() {
    return keyId;
  }

  @Override
  public DataKey generateDataKey() throws IOException {
    byte[] plaintext = new byte[32];
    RANDOM.nextBytes(plaintext);
    return new DataKey(plaintext, wrap(plaintext));
  }

  @Override
  public byte[] wrap(byte[] plaintext) throws CryptoException {
    byte[] iv = new byte[12];
    RANDOM.nextBytes(iv);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
      byte[] ct = c.doFinal(plaintext);
      return ByteBuffer.allocate(iv.length + ct.length).put(iv).put(ct).array();
    } catch (GeneralSecurityException e) {
      throw new CryptoException("cannot wrap data key with local key " + keyId, e);
    }
  }

  @Override
  public byte[] unwrap(byte[] wrapped) throws CryptoException {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, wrapped, 0, 12));
      return c.doFinal(wrapped, 12, wrapped.length - 12);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new CryptoException("data key cannot be unwrapped with local key " + keyId
          + " (wrong key file?)");
    }
  }

  @Override
  public String toString() {
    return "LocalKeyEncryptionKey[" + keyId + "]";
  }
}
