package dev.savepoint.core;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

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

  /**
   * The object index of {@code earlier}, a backup of the same plan (from {@link #previous()}), read one segment at a
   * time: what an incremental bucket backup merges with its new listing.
   */
  default ObjectIndex.Reader index(Manifest earlier) throws IOException {
    throw new UnsupportedOperationException("this writer reads no indexes");
  }

  /** Where an artifact's record goes. */
  enum Kind {
    /** In the manifest's list of artifacts, stored through the plan's transforms: what {@link #open} does. */
    LISTED,
    /**
     * Not in the manifest: the source keeps the record ({@link StoredArtifact#record()}) in an index of its own
     * (a bucket backup's object index), so the manifest does not grow with the number of objects. Stored through
     * the plan's transforms, under the backup like any other.
     */
    INDEXED,
    /**
     * A segment of such an index: listed in the manifest, compressed (zstd) but never encrypted, whatever the
     * plan's transforms — it holds what the manifest would otherwise hold (keys, sizes, digests), and pruning
     * and verification read it without keys, as they read manifests.
     */
    INDEX
  }

  /**
   * Starts an artifact of {@code kind} ({@link #open} is {@link Kind#LISTED}). Its record, available from the
   * returned stream once closed, is what an {@link Kind#INDEXED} artifact's source keeps.
   */
  default StoredArtifact open(String name, Kind kind) throws IOException {
    throw new UnsupportedOperationException("this writer stores only listed artifacts");
  }

  /** As {@link #reuse(ArtifactRecord)}, for an artifact of {@code kind}; an {@link Kind#INDEXED} one is not listed. */
  default boolean reuse(ArtifactRecord earlier, Kind kind) throws IOException {
    return kind == Kind.LISTED && reuse(earlier);
  }

  /** The stream of an artifact being written; closing it stores it, after which {@link #record()} describes it. */
  abstract class StoredArtifact extends OutputStream {
    /** The record of the stored artifact; null until the stream was closed successfully. */
    public abstract @Nullable ArtifactRecord record();
  }
}
