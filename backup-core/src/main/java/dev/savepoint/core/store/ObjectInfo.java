package dev.savepoint.core.store;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a store knows about one stored object. {@code etag} is the store's content version tag (S3 ETag, GCS
 * etag), or null where the store has none; it tells whether an object changed, not its digest.
 */
public record ObjectInfo(String key, long size, Instant lastModified, @Nullable String etag) {
  public ObjectInfo {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(lastModified, "lastModified");
  }

  public ObjectInfo(String key, long size, Instant lastModified) {
    this(key, size, lastModified, null);
  }
}
