package dev.savepoint.core.internal;

import dev.savepoint.core.ChunkDigests;
import dev.savepoint.core.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * Releases bytes of {@code in} one chunk at a time, each only after its SHA-256 matched the recorded one, so a
 * consumer never sees (and never acts on) a byte that the manifest does not vouch for. Too many or too few
 * chunks, or a short chunk in the middle, fail as {@link IntegrityException} naming the chunk. Holds one chunk
 * (at most {@link ChunkDigests#size} bytes) in memory.
 */
public final class ChunkVerifyingInputStream extends InputStream {
  private final InputStream in;
  private final String what;
  private final ChunkDigests expected;
  private final MessageDigest sha256 = Probe.newSha256();
  private final byte[] chunk;
  private int chunkIndex;
  private int length;
  private int position;
  private boolean ended;

  public ChunkVerifyingInputStream(InputStream in, String what, ChunkDigests expected, long rawBytes) {
    this.in = in;
    this.what = what;
    this.expected = expected;
    this.chunk = new byte[(int) Math.max(1, Math.min(expected.size(), rawBytes))];
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (position == length && !fill()) {
      return -1;
    }
    int n = Math.min(len, length - position);
    System.arraycopy(chunk, position, b, off, n);
    position += n;
    return n;
  }

  /** Reads and verifies the next chunk; false at a verified end of stream. */
  private boolean fill() throws IOException {
    if (ended) {
      return false;
    }
    int n = 0;
    int r;
    int want = Math.min(chunk.length, expected.size());
    while (n < want && (r = in.read(chunk, n, want - n)) > 0) {
      n += r;
    }
    if (n == 0) {
      ended = true;
      if (chunkIndex != expected.sha256().size()) {
        throw new IntegrityException(what + ": truncated: " + chunkIndex + " of " + expected.sha256().size()
            + " chunks present");
      }
      in.read(); // Lets the underlying stream run its own end-of-stream checks.
      return false;
    }
    if (chunkIndex >= expected.sha256().size()) {
      throw new IntegrityException(what + ": more data than the " + expected.sha256().size()
          + " chunks the manifest records");
    }
    sha256.update(chunk, 0, n);
    String actual = ChunkProbe.finishChunk(sha256);
    String want256 = expected.sha256().get(chunkIndex);
    if (!actual.equals(want256)) {
      throw new IntegrityException(what + ": chunk " + chunkIndex + " SHA-256 mismatch: expected " + want256
          + ", actual " + actual + " (nothing from this chunk was used)");
    }
    chunkIndex++;
    length = n;
    position = 0;
    return true;
  }

  // skip() is InputStream's: it reads (and so verifies) what it skips.

  @Override
  public int available() {
    return length - position;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
