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
    for (ArtifactRecord a : artifacts.manifest().artifacts()) {
      if (!a.name().startsWith(BucketSource.ARTIFACT_PREFIX) && !a.name().startsWith(ObjectIndex.SEGMENT_PREFIX)) {
        throw new RestoreException("artifact '" + a.name() + "' is not an object of a bucket backup");
      }
    }
    long[] restored = {0};
    ObjectIndex.forEach(artifacts, e -> {
      try (InputStream in = artifacts.open(e.artifact())) {
        objects.put(e.key(), in); // the original key, exactly
      } catch (StoreException x) {
        throw new RestoreException("restoring " + e.key() + " to " + describe() + " failed after " + restored[0]
            + " objects: " + x.getMessage(), x);
      }
      restored[0]++;
    });
    return Map.of("objectsRestored", restored[0]);
  }

  @Override
  public String describe() {
    return objects.describe();
  }
}
