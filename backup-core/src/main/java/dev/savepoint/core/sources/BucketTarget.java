package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.ObjectIndex;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.Transform;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Restores a {@link BucketSource} backup into a {@link Store} (a bucket prefix: {@code S3Store}, {@code GcsStore}, or
 * any other), one object per artifact under its original key, byte for byte. Each object is written only after its
 * bytes were read to the end and verified — stores make a put visible only when it completes — so a corrupt artifact
 * never overwrites a good object. Rerunning the restore is idempotent.
 *
 * <p>{@linkplain #asOfBackup As of the backup} (what {@code restore} and {@code recover} do), the prefix ends up
 * holding exactly what the backup holds: objects the backup does not hold are deleted, objects that already match
 * (size and SHA-256) are left alone, and before anything changes, every object the restore will overwrite or delete
 * goes into a safety backup in the repository, protected like the restored backup. A failure part-way says what was
 * changed and where the safety backup is.
 */
public final class BucketTarget implements RestoreTarget {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BucketTarget.class);

  private final Store objects;
  private final @Nullable Repository safetyRepository;
  private final @Nullable String safetyPlan;

  public BucketTarget(Store objects) {
    this(objects, null, null);
  }

  private BucketTarget(Store objects, @Nullable Repository safetyRepository, @Nullable String safetyPlan) {
    this.objects = Objects.requireNonNull(objects);
    this.safetyRepository = safetyRepository;
    this.safetyPlan = safetyPlan;
  }

  /**
   * This target restoring the prefix to exactly the backup's state, with a safety backup of what it displaces stored
   * in {@code repository} under {@code plan} (tier {@code safety}).
   */
  public BucketTarget asOfBackup(Repository repository, String plan) {
    return new BucketTarget(objects, Objects.requireNonNull(repository), Objects.requireNonNull(plan));
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    for (ArtifactRecord a : artifacts.manifest().artifacts()) {
      if (!a.name().startsWith(BucketSource.ARTIFACT_PREFIX) && !a.name().startsWith(ObjectIndex.SEGMENT_PREFIX)) {
        throw new RestoreException("artifact '" + a.name() + "' is not an object of a bucket backup");
      }
    }
    if (safetyRepository == null) {
      long[] restored = {0};
      ObjectIndex.forEach(artifacts, e -> {
        write(e, artifacts, restored[0]);
        restored[0]++;
      });
      return Map.of("objectsRestored", restored[0]);
    }
    return restoreAsOfBackup(artifacts);
  }

  private Map<String, Object> restoreAsOfBackup(ArtifactReader artifacts) throws IOException {
    Map<String, ArtifactRecord> wanted = new HashMap<>();
    ObjectIndex.forEach(artifacts, e -> wanted.put(e.key(), e.artifact()));
    List<String> stale = new ArrayList<>();
    List<String> extra = new ArrayList<>();
    long unchanged = 0;
    for (ObjectInfo o : objects.listing("")) {
      ArtifactRecord a = wanted.get(o.key());
      if (a == null) {
        extra.add(o.key());
      } else if (o.size() == a.rawBytes() && a.rawSha256().equals(sha256(o.key()))) {
        unchanged++;
        wanted.remove(o.key());
      } else {
        stale.add(o.key());
      }
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    List<String> displaced = new ArrayList<>(stale);
    displaced.addAll(extra);
    if (!displaced.isEmpty()) {
      facts.put("safetyBackupId", takeSafetyBackup(Set.copyOf(displaced), artifacts.protection()));
    }
    long[] restored = {0};
    try {
      ObjectIndex.forEach(artifacts, e -> {
        if (wanted.containsKey(e.key())) {
          write(e, artifacts, restored[0]);
          restored[0]++;
        }
      });
      List<String> deleted = new ArrayList<>();
      for (String key : extra) {
        objects.delete(key);
        deleted.add(key);
      }
    } catch (IOException | RuntimeException e) {
      throw new RestoreException("restoring " + describe() + " as of backup " + artifacts.manifest().id()
          + " stopped after rewriting " + restored[0] + " of " + wanted.size() + " objects (" + extra.size()
          + " objects not in the backup still to delete)"
          + (facts.containsKey("safetyBackupId") ? "; every object it replaces or deletes is in safety backup "
              + facts.get("safetyBackupId") + " of plan '" + safetyPlan + "'" : "") + ": " + e.getMessage(), e);
    }
    facts.put("objectsRestored", restored[0]);
    facts.put("objectsUnchanged", unchanged);
    facts.put("objectsDeleted", (long) extra.size());
    if (restored[0] + extra.size() > 0) {
      log.info("{} as of backup {}: {} objects rewritten, {} deleted, {} already matched", describe(),
          artifacts.manifest().id(), restored[0], extra.size(), unchanged);
    }
    return facts;
  }

  private void write(ObjectIndex.Entry e, ArtifactReader artifacts, long before) throws IOException {
    try (InputStream in = artifacts.open(e.artifact())) {
      objects.put(e.key(), in); // the original key, exactly
    } catch (StoreException x) {
      throw new RestoreException("restoring " + e.key() + " to " + describe() + " failed after " + before
          + " objects: " + x.getMessage(), x);
    }
  }

  private String sha256(String key) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = objects.get(key)) {
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    } catch (ObjectNotFoundException deletedMeanwhile) {
      return "";
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /**
   * The objects about to be overwritten or deleted, backed up (through the restored backup's own transforms, so they
   * are never kept less protected than the backup replacing them; zstd for unprotected ones) before any changes.
   */
  private String takeSafetyBackup(Set<String> displaced, List<Transform> protection) throws IOException {
    Store only = new ForwardingStore(objects) {
      @Override
      public List<ObjectInfo> list(String prefix) throws IOException {
        return delegate.list(prefix).stream().filter(o -> displaced.contains(o.key())).toList();
      }

      @Override
      public Iterable<ObjectInfo> listing(String prefix) throws IOException {
        return list(prefix);
      }
    };
    BackupPlan.Builder plan = BackupPlan.builder(Objects.requireNonNull(safetyPlan)).tier("safety")
        .label("reason", "pre-restore").source(BucketSource.of(only)).repository(Objects.requireNonNull(safetyRepository)).verifier(Verifiers.presence(1));
    (protection.isEmpty() ? List.of(Transforms.zstd()) : protection).forEach(plan::transform);
    String id = plan.build().run().manifest().id();
    log.info("safety backup {} of {} object(s) of {} stored in plan '{}' before restoring over them", id,
        displaced.size(), describe(), safetyPlan);
    return id;
  }

  @Override
  public String describe() {
    return objects.describe();
  }
}
