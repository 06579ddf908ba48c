package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.BucketTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.core.store.ObjectInfo;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bucket backup's objects live in its object index, not in the manifest: unchanged segments are reused by
 * reference, retention keeps what surviving backups' segments need, and backups made before the index still
 * restore and serve as the base of the next incremental backup.
 */
class ObjectIndexTest {
  @TempDir
  Path tmp;

  InMemoryStore bucket = new InMemoryStore();
  Repository repo;
  final AtomicInteger segmentPuts = new AtomicInteger();
  final AtomicInteger objectPuts = new AtomicInteger();

  @BeforeEach
  void setUp() throws Exception {
    repo = new Repository(new ForwardingStore(new FilesystemStore(tmp.resolve("repo"))) {
      @Override
      public void put(String key, InputStream data) throws java.io.IOException {
        if (key.contains("/index/")) {
          segmentPuts.incrementAndGet();
        } else if (key.contains("/objects/")) {
          objectPuts.incrementAndGet();
        }
        super.put(key, data);
      }
    });
  }

  void upload(int i, String content) throws Exception {
    bucket.put(String.format("avatars/%04d.png", i), ByteSource.wrap(content.getBytes()));
  }

  Manifest backup() throws Exception {
    segmentPuts.set(0);
    objectPuts.set(0);
    return BackupPlan.builder("uploads").source(BucketSource.of(bucket).segmentObjects(8)).transform(Transforms.zstd())
        .repository(repo).build().run().manifest();
  }

  Map<String, String> restored(Manifest m) throws Exception {
    InMemoryStore target = new InMemoryStore();
    repo.restore(m, new BucketTarget(target), Secrets.none());
    Map<String, String> result = new LinkedHashMap<>();
    for (ObjectInfo o : target.list("")) {
      try (InputStream in = target.get(o.key())) {
        result.put(o.key(), new String(in.readAllBytes()));
      }
    }
    return result;
  }

  Map<String, String> bucketContents() throws Exception {
    Map<String, String> result = new LinkedHashMap<>();
    for (ObjectInfo o : bucket.list("")) {
      try (InputStream in = bucket.get(o.key())) {
        result.put(o.key(), new String(in.readAllBytes()));
      }
    }
    return result;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> index(Manifest m) {
    return (Map<String, Object>) m.source().facts().get(ObjectIndex.FACT);
  }

  @Test
  void unchangedSegmentsAreReusedAndAChangeRewritesOnlyItsOwn() throws Exception {
    for (int i = 0; i < 200; i++) {
      upload(i, "avatar " + i);
    }
    Manifest full = backup();
    int segments = ((Number) index(full).get("segments")).intValue();
    assertThat(segments).as("content-defined segments of about 8 objects").isBetween(10, 60);
    assertThat(segmentPuts.get()).isEqualTo(segments);
    assertThat(objectPuts.get()).isEqualTo(200);
    assertThat(full.artifacts()).as("the manifest lists segments, not objects").hasSize(segments)
        .allMatch(a -> a.name().startsWith(ObjectIndex.SEGMENT_PREFIX));
    assertThat(full.formatVersion()).isEqualTo(2);
    assertThat(full.storedBytes()).as("totals include the indexed objects")
        .isGreaterThan(full.artifacts().stream().mapToLong(ArtifactRecord::storedBytes).sum());

    Manifest unchanged = backup();
    assertThat(segmentPuts.get()).as("a no-change backup writes no segment").isZero();
    assertThat(objectPuts.get()).isZero();
    assertThat(index(unchanged)).containsEntry("reusedSegments", segments);
    assertThat(unchanged.artifacts()).isEqualTo(full.artifacts());
    long manifestBytes = repo.store().stat("uploads/" + unchanged.id() + "/" + Repository.MANIFEST).orElseThrow().size();
    assertThat(manifestBytes).isLessThan(32 * 1024);

    upload(77, "a new avatar for 77");
    Manifest oneChanged = backup();
    assertThat(objectPuts.get()).isEqualTo(1);
    assertThat(segmentPuts.get()).as("only the changed object's segment is rewritten").isEqualTo(1);
    assertThat(index(oneChanged)).containsEntry("reusedSegments", segments - 1);
    assertThat(oneChanged.source().facts()).containsEntry("copiedObjects", 1).containsEntry("reusedObjects", 199);
    assertThat(restored(oneChanged)).isEqualTo(bucketContents());
    assertThat(repo.verify(oneChanged, Verifiers.standard(true, Secrets.none()))).allMatch(VerificationResult::passed);
  }

  @Test
  void pruningKeepsTheSegmentsAndObjectsThatSurvivorsReuse() throws Exception {
    for (int i = 0; i < 60; i++) {
      upload(i, "avatar " + i);
    }
    Manifest first = backup();
    backup(); // reuses every segment and object of the first
    upload(5, "changed");
    bucket.delete("avatars/0042.png");
    Manifest last = backup();
    Map<String, String> expected = bucketContents();

    List<Retention.Verdict> verdicts = repo.prune("uploads", Retention.builder().last(1).build(), false, Duration.ZERO);
    assertThat(verdicts).filteredOn(v -> !v.keep()).hasSize(2);
    assertThat(repo.orphans("uploads", Duration.ZERO)).isEmpty();
    assertThat(restored(last)).isEqualTo(expected);
    assertThat(repo.verify(last, Verifiers.standard(true, Secrets.none()))).allMatch(VerificationResult::passed);
    // What only the deleted backups held is gone: the old version of object 5 and the deleted object 42.
    List<String> left = repo.store().list("uploads/" + first.id() + "/").stream().map(ObjectInfo::key).toList();
    assertThat(left).noneMatch(k -> k.endsWith("0005.png.zst") || k.endsWith("0042.png.zst")).isNotEmpty();

    repo.delete(last);
    assertThat(repo.store().list("uploads/")).as("nothing left once no backup records it").isEmpty();
  }

  @Test
  void backupsMadeBeforeTheIndexRestoreAndBaseTheNextIncrementalBackup() throws Exception {
    for (int i = 0; i < 5; i++) {
      upload(i, "avatar " + i);
    }
    // A backup as Savepoint wrote them before the index: one listed artifact per object and the object list.
    Source legacy = new Source() {
      @Override
      public String type() {
        return BucketSource.TYPE;
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws java.io.IOException {
        List<Map<String, Object>> objects = new ArrayList<>();
        for (ObjectInfo o : bucket.list("")) {
          try (InputStream in = bucket.get(o.key()); OutputStream out = writer.open("objects/" + o.key())) {
            in.transferTo(out);
          }
          Map<String, Object> entry = new LinkedHashMap<>();
          entry.put("key", o.key());
          entry.put("size", o.size());
          entry.put("lastModified", o.lastModified().toString());
          if (o.etag() != null) {
            entry.put("etag", o.etag());
          }
          objects.add(entry);
        }
        return Map.of("bucket", bucket.describe(), "objectCount", objects.size(), "objects", objects);
      }
    };
    Manifest old = BackupPlan.builder("uploads").source(legacy).transform(Transforms.zstd()).repository(repo).build()
        .run().manifest();
    assertThat(ObjectIndex.isIndexed(old)).isFalse();
    assertThat(restored(old)).isEqualTo(bucketContents());

    upload(2, "changed after the old backup");
    Manifest next = backup();
    assertThat(next.source().facts()).containsEntry("reusedObjects", 4).containsEntry("copiedObjects", 1);
    assertThat(restored(next)).isEqualTo(bucketContents());
    // Retention removes the old backup; the new one keeps the four objects it reused from it.
    repo.prune("uploads", Retention.builder().last(1).build(), false, Duration.ZERO);
    assertThat(restored(next)).isEqualTo(bucketContents());
  }

  @Test
  void aDamagedPreviousIndexMeansCopyingAgainNotFailing() throws Exception {
    for (int i = 0; i < 20; i++) {
      upload(i, "avatar " + i);
    }
    Manifest first = backup();
    ArtifactRecord segment = first.artifacts().get(0);
    Path file = tmp.resolve("repo").resolve(segment.key());
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    Files.write(file, bytes);
    Manifest second = backup();
    assertThat(((Number) second.source().facts().get("copiedObjects")).intValue()).isPositive();
    assertThat(restored(second)).isEqualTo(bucketContents());
  }
}
