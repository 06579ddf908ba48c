package dev.savepoint.core.internal;

import dev.savepoint.core.ChunkDigests;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Computes {@link ChunkDigests} of the bytes it sees. Not thread-safe. */
public final class ChunkProbe {
  private final int size;
  private final MessageDigest sha256 = Probe.newSha256();
  private final List<String> digests = new ArrayList<>();
  private long inChunk;

  public ChunkProbe(int size) {
    this.size = size;
  }

  public void update(byte[] b, int off, int len) {
    while (len > 0) {
      int n = (int) Math.min(len, size - inChunk);
      sha256.update(b, off, n);
      inChunk += n;
      off += n;
      len -= n;
      if (inChunk == size) {
        digests.add(finishChunk(sha256));
        inChunk = 0;
      }
    }
  }

  /** The digests of everything seen; call once, at the end. */
  public ChunkDigests result() {
    if (inChunk > 0) {
      digests.add(finishChunk(sha256));
      inChunk = 0;
    }
    return new ChunkDigests(size, digests);
  }

  static String finishChunk(MessageDigest sha256) {
    return HexFormat.of().formatHex(sha256.digest(), 0, 16);
  }
}
