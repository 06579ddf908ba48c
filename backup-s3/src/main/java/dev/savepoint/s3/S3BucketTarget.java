package dev.savepoint.s3;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * Restores an {@link S3BucketSource} backup into {@code s3://bucket/prefix}: each object is written only
 * after its bytes were read to the end and verified (through an {@link S3Store}, whose uploads become visible
 * only when complete), so a corrupt artifact never overwrites a good object. Objects restored before a
 * failure stay; rerunning the restore is idempotent.
 */
public final class S3BucketTarget implements RestoreTarget {
  private final S3Store store;
  private final String description;

  public S3BucketTarget(S3Store store) {
    this.store = store;
    this.description = store.describe();
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    int restored = 0;
    for (ArtifactRecord a : artifacts.manifest().artifacts()) {
      if (!a.name().startsWith(S3BucketSource.ARTIFACT_PREFIX)) {
        throw new RestoreException("artifact '" + a.name() + "' is not an object of a bucket backup");
      }
      String key = a.name().substring(S3BucketSource.ARTIFACT_PREFIX.length());
      try (InputStream in = artifacts.open(a)) {
        store.put(key, in);
      } catch (StoreException e) {
        throw new RestoreException("restoring " + key + " to " + description + " failed after " + restored
            + " objects: " + e.getMessage(), e);
      }
      restored++;
    }
    return Map.of("objectsRestored", restored);
  }

  @Override
  public String describe() {
    return description;
  }
}
