package dev.savepoint.core.internal;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Observes bytes without changing them: counts them and computes their SHA-256. Not thread-safe. */
public final class Probe {
  private final MessageDigest sha256;
  private long bytes;

  public Probe() {
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  public void update(byte[] b, int off, int len) {
    sha256.update(b, off, len);
    bytes += len;
  }

  public long bytes() {
    return bytes;
  }

  /** The hex SHA-256 of everything seen; call once, at the end. */
  public String sha256() {
    return HexFormat.of().formatHex(sha256.digest());
  }
}
