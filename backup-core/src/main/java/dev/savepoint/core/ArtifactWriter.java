package dev.savepoint.core;

import java.io.IOException;
import java.io.OutputStream;

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
}
