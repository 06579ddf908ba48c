package dev.savepoint.core.internal;

import dev.savepoint.core.IntegrityException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Passes bytes through and, at end of stream, checks their count and SHA-256 against what the manifest
 * recorded. A mismatch throws {@link IntegrityException} instead of returning end-of-stream, so a consumer
 * never takes corrupt or truncated data for complete data. Too many bytes fail as soon as they arrive. With no
 * expected SHA-256 (null) only the count is checked: for bytes whose every chunk another stage verifies.
 */
public final class VerifyingInputStream extends FilterInputStream {
  private final String what;
  private final long expectedBytes;
  private final String expectedSha256;
  private final Probe probe;
  private long bytes;
  private boolean verified;

  public VerifyingInputStream(InputStream in, String what, long expectedBytes, String expectedSha256) {
    super(in);
    this.what = what;
    this.expectedBytes = expectedBytes;
    this.expectedSha256 = expectedSha256;
    this.probe = expectedSha256 == null ? null : new Probe();
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n < 0) {
      verify();
      return -1;
    }
    bytes += n;
    if (probe != null) {
      probe.update(b, off, n);
    }
    if (bytes > expectedBytes) {
      throw new IntegrityException(what + ": size mismatch: expected " + expectedBytes
          + " bytes, found more");
    }
    return n;
  }

  private void verify() throws IntegrityException {
    if (verified) {
      return;
    }
    verified = true;
    if (bytes != expectedBytes) {
      throw new IntegrityException(what + ": size mismatch (truncated?): expected " + expectedBytes
          + " bytes, actual " + bytes);
    }
    if (probe == null) {
      return;
    }
    String actual = probe.sha256();
    if (!actual.equals(expectedSha256)) {
      throw new IntegrityException(what + ": SHA-256 mismatch: expected " + expectedSha256
          + ", actual " + actual);
    }
  }

  @Override
  public long skip(long n) throws IOException {
    // Skipping would bypass the digest: read and discard instead.
    byte[] buf = new byte[8192];
    long total = 0;
    while (total < n) {
      int r = read(buf, 0, (int) Math.min(buf.length, n - total));
      if (r < 0) {
        break;
      }
      total += r;
    }
    return total;
  }

  @Override
  public boolean markSupported() {
    return false;
  }
}
