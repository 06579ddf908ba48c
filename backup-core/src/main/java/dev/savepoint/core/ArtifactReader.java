package dev.savepoint.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * Given to a {@link RestoreTarget}: opens the raw (decoded) bytes of an artifact. The stream verifies the
 * stored and raw digests as it is read and throws {@link IntegrityException} at the end instead of
 * returning end-of-stream if anything does not match, so a target must treat data as good only after it
 * has read to the end.
 */
public interface ArtifactReader {
  Manifest manifest();

  InputStream open(ArtifactRecord artifact) throws IOException;

  /**
   * The transform chain that protects this backup (compression, encryption), rebuilt with the restore's keys,
   * for what a target writes on its own — a safety backup of what it replaces is protected like the backup
   * that replaces it. Empty if the backup has no artifacts or the reader cannot rebuild it.
   */
  default List<Transform> protection() throws IOException {
    return List.of();
  }

  /** The artifact named {@code name}; a manifest without it is damaged ({@link IntegrityException}). */
  default InputStream open(String name) throws IOException {
    return open(manifest().artifact(name).orElseThrow(() -> new IntegrityException("backup " + manifest().id()
        + " of plan '" + manifest().plan() + "' has no artifact '" + name + "': its manifest does not describe what "
        + "this kind of backup holds")));
  }
}
