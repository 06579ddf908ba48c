package dev.savepoint.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One stored artifact of a backup, as the manifest records it: where it is, how big it is before and after
 * the transform chain, the SHA-256 of both, and the chain (in backup order) that turns raw bytes into
 * stored bytes. {@code rawChunks} (absent in backups made before Savepoint recorded them) lets a restore verify
 * the raw bytes chunk by chunk, before acting on them.
 */
public record ArtifactRecord(
    String name,
    String key,
    long rawBytes,
    long storedBytes,
    String rawSha256,
    String storedSha256,
    List<TransformSpec> transforms,
    @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable ChunkDigests rawChunks) {

  public ArtifactRecord {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(key, "key");
    transforms = transforms == null ? List.of() : List.copyOf(transforms);
  }

  /** A record without chunk digests (as backups made before they existed). */
  public ArtifactRecord(String name, String key, long rawBytes, long storedBytes, String rawSha256,
      String storedSha256, List<TransformSpec> transforms) {
    this(name, key, rawBytes, storedBytes, rawSha256, storedSha256, transforms, null);
  }
}
