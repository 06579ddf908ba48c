package dev.savepoint.core;

import java.util.List;
import java.util.Objects;

/**
 * One stored artifact of a backup, as the manifest records it: where it is, how big it is before and after
 * the transform chain, the SHA-256 of both, and the chain (in backup order) that turns raw bytes into
 * stored bytes.
 */
public record ArtifactRecord(
    String name,
    String key,
    long rawBytes,
    long storedBytes,
    String rawSha256,
    String storedSha256,
    List<TransformSpec> transforms) {

  public ArtifactRecord {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(key, "key");
    transforms = transforms == null ? List.of() : List.copyOf(transforms);
  }
}
