package dev.savepoint.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * Restores a {@link BucketSource} backup into a {@link Store} (a bucket prefix: {@code S3Store},
 * {@code GcsStore}, or any other), one object per artifact under its original key, byte for byte. Each object is written only
 * after its bytes were read to the end and verified — stores make a put visible only when it completes — so a
 * corrupt artifact never overwrites a good object. Objects restored before a failure stay; rerunning the
 * restore is idempotent.
 */
public final class BucketTarget implements RestoreTarget {
  private final Store objects;

  public BucketTarget(Store objects) {
    this.objects = objects;
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    int restored = 0;
    Map<String, String> keys = BucketSource.originalKeys(artifacts.manifest());
    for (ArtifactRecord a : artifacts.manifest().artifacts()) {
      if (!a.name().startsWith(BucketSource.ARTIFACT_PREFIX)) {
        throw new RestoreException("artifact '" + a.name() + "' is not an object of a bucket backup");
      }
      String key = keys.get(a.name()); // the original key, exactly
      try (InputStream in = artifacts.open(a)) {
        objects.put(key, in);
      } catch (StoreException e) {
        throw new RestoreException("restoring " + key + " to " + describe() + " failed after " + restored
            + " objects: " + e.getMessage(), e);
      }
      restored++;
    }
    return Map.of("objectsRestored", restored);
  }

  @Override
  public String describe() {
    return objects.describe();
  }
}
