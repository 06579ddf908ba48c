package dev.savepoint.core;

import java.util.List;
import java.util.Objects;

/**
 * The SHA-256 of every {@code size}-byte chunk of an artifact's raw bytes (the last chunk may be shorter), each
 * truncated to 128 bits (32 hex digits), as the manifest records them. A restore releases a chunk to its
 * consumer (psql, pg_restore, a tar extractor) only after the chunk matched, so nothing acts on bytes the
 * (signed) manifest does not vouch for: verification no longer waits for the end of the stream.
 */
public record ChunkDigests(int size, List<String> sha256) {
  /** Chunk size of new backups: a restore holds one chunk per open artifact in memory. */
  public static final int DEFAULT_SIZE = 4 << 20;

  public ChunkDigests {
    if (size < 1) {
      throw new IllegalArgumentException("chunk size must be positive, was " + size);
    }
    sha256 = List.copyOf(Objects.requireNonNull(sha256, "sha256"));
  }
}
