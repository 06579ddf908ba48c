package dev.savepoint.core;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;

/**
 * Given to a {@link Source} by the backup pipeline. Each {@link #open} starts a new artifact whose bytes
 * flow through the transform chain to the store on other threads. Thread-safe: a source may write several
 * artifacts in parallel from its own threads.
 */
public interface ArtifactWriter {
  /**
   * Starts the artifact {@code name} (a relative path such as {@code db.sql} or {@code files/a.png}).
   * Closing the returned stream completes the artifact: it blocks until the bytes are stored and throws
   * if storing failed. Not closing it (because the source failed) discards the artifact.
   */
  OutputStream open(String name) throws IOException;

  /**
   * The newest complete backup of the same plan in the same repository, if any: what an incremental source
   * compares against before deciding to {@link #reuse} an artifact.
   */
  default Optional<Manifest> previous() throws IOException {
    return Optional.empty();
  }

  /**
   * Makes {@code earlier}, an artifact of an earlier backup of the same plan (from {@link #previous()}), part
   * of this backup without storing it again: the new manifest records the same stored object, and deleting
   * the earlier backup keeps objects that later backups still record. Returns false, recording nothing, when
   * the stored object is gone or no longer has the recorded size, or was stored through other kinds of
   * transforms than this backup's (say, encryption was added since); the source then writes the artifact with
   * {@link #open}. The reused bytes are verified like any other when they are read.
   */
  default boolean reuse(ArtifactRecord earlier) throws IOException {
    return false;
  }
}
