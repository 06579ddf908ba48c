package dev.savepoint.core;

import java.time.Instant;
import java.util.Objects;

/** What a store knows about one stored object. */
public record ObjectInfo(String key, long size, Instant lastModified) {
  public ObjectInfo {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(lastModified, "lastModified");
  }
}
