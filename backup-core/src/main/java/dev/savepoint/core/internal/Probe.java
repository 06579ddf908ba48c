package dev.savepoint.core.internal;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Observes bytes without changing them: counts them and computes their SHA-256. Not thread-safe. */
public final class Probe {
  private final MessageDigest sha256;
  private long bytes;

  public Probe() {
    sha256 = newSha256();
  }

  /** A fresh SHA-256 digest. */
  static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /** The hex SHA-256 of {@code len} bytes of {@code b} from {@code off}. */
  public static String sha256Of(byte[] b, int off, int len) {
    Probe probe = new Probe();
    probe.update(b, off, len);
    return probe.sha256();
  }

  /** The hex SHA-256 of everything {@code in} holds (read to its end, not closed). */
  public static String sha256Of(java.io.InputStream in) throws java.io.IOException {
    Probe probe = new Probe();
    byte[] buffer = new byte[1 << 16];
    for (int n; (n = in.read(buffer)) > 0; ) {
      probe.update(buffer, 0, n);
    }
    return probe.sha256();
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
