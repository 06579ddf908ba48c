package dev.savepoint.core;

import java.io.IOException;
import java.io.InputStream;

/**
 * Given to a {@link RestoreTarget}: opens the raw (decoded) bytes of an artifact. The stream verifies the
 * stored and raw digests as it is read and throws {@link IntegrityException} at the end instead of
 * returning end-of-stream if anything does not match, so a target must treat data as good only after it
 * has read to the end.
 */
public interface ArtifactReader {
  Manifest manifest();

  InputStream open(ArtifactRecord artifact) throws IOException;

  default InputStream open(String name) throws IOException {
    return open(manifest().artifact(name).orElseThrow(
        () -> new IllegalArgumentException("backup " + manifest().id() + " has no artifact '" + name + "'")));
  }
}
