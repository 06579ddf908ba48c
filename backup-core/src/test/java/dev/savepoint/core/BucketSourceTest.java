package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Incremental bucket backups: unchanged objects are recorded again, not copied; retention keeps them. */
class BucketSourceTest {
  @TempDir
  Path tmp;

  Path uploads;
  Store bucket;
  Repository repo;
  AtomicInteger puts = new AtomicInteger();

  @BeforeEach
  void setUp() throws Exception {
    uploads = Files.createDirectories(tmp.resolve("uploads"));
    bucket = new FilesystemStore(uploads);
    repo = new Repository(new ForwardingStore(new FilesystemStore(tmp.resolve("repo"))) {
      @Override
      public void put(String key, InputStream data) throws java.io.IOException {
        if (!key.contains("/leases/")) { // the running backup's lease is no object of the backup
          puts.incrementAndGet();
        }
        super.put(key, data);
      }
    });
  }

  void upload(String key, int size, int seed) throws Exception {
    byte[] data = new byte[size];
    new Random(seed).nextBytes(data);
    Path file = uploads.resolve(key);
    Files.createDirectories(file.getParent());
    Files.write(file, data);
    // A distinct modification time per version, as object stores give.
    Files.setLastModifiedTime(file, FileTime.from(Instant.parse("2026-01-01T00:00:00Z").plusSeconds(seed)));
  }

  Manifest backup() throws Exception {
    return BackupPlan.builder("uploads").source(BucketSource.of(bucket).parallelism(2)).transform(Transforms.zstd())
        .repository(repo).verifier(Verifiers.roundTrip(Secrets.none())).build().run().manifest();
  }

  /** The artifact of each object of {@code m}, by key, from its object index. */
  static Map<String, ArtifactRecord> objects(Repository repo, Manifest m) throws Exception {
    Map<String, ArtifactRecord> result = new TreeMap<>();
    ObjectIndex.forEach(repo, m, e -> result.put(e.key(), e.artifact()));
    return result;
  }

  Map<String, String> restoredDigests(Manifest m) throws Exception {
    Path dir = tmp.resolve("restored-" + System.nanoTime());
    repo.restore(m, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX), Secrets.none());
    return digests(dir);
  }

  static Map<String, String> digests(Path dir) throws Exception {
    Map<String, String> result = new TreeMap<>();
    try (var files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        result.put(dir.relativize(f).toString(), java.util.HexFormat.of().formatHex(
            java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
      }
    }
    return result;
  }

  @Test
  void secondBackupCopiesOnlyWhatChangedAndRestoresTheWholeBucket() throws Exception {
    upload("maps/dungeon.png", 300_000, 1);
    upload("maps/forest.png", 200_000, 2);
    upload("avatars/勇者.txt", 10, 3);
    Manifest first = backup();
    assertThat(first.source().facts()).containsEntry("copiedObjects", 3).containsEntry("reusedObjects", 0);

    upload("maps/forest.png", 200_000, 4); // same size, new content and time
    upload("avatars/魔法使い.txt", 12, 5);
    Files.delete(uploads.resolve("avatars/勇者.txt"));
    puts.set(0);
    Manifest second = backup();
    assertThat(second.source().facts()).containsEntry("objectCount", 3).containsEntry("copiedObjects", 2)
        .containsEntry("reusedObjects", 1);
    assertThat(puts.get()).as("two objects, the index segment, the manifest and its completion marker written")
        .isEqualTo(5);
    assertThat(objects(repo, second).get("maps/dungeon.png")).isEqualTo(objects(repo, first).get("maps/dungeon.png"));
    assertThat(restoredDigests(second)).isEqualTo(digests(uploads));

    // A full copy ignores earlier backups.
    Manifest full = BackupPlan.builder("uploads").source(BucketSource.of(bucket).fullCopies()).repository(repo)
        .build().run().manifest();
    assertThat(full.source().facts()).containsEntry("copiedObjects", 3).containsEntry("reusedObjects", 0);
  }

  @Test
  void deletingTheEarlierBackupKeepsWhatLaterBackupsRecord() throws Exception {
    upload("a.bin", 100_000, 1);
    upload("b.bin", 100_000, 2);
    Manifest first = backup();
    upload("b.bin", 100_000, 3);
    Manifest second = backup();
    Map<String, String> expected = digests(uploads);

    List<Retention.Verdict> verdicts = repo.prune("uploads", Retention.builder().last(1).build(), false, Duration.ZERO);
    assertThat(verdicts).filteredOn(v -> !v.keep()).extracting(v -> v.backup().id()).containsExactly(first.id());
    assertThat(repo.list("uploads")).extracting(Manifest::id).containsExactly(second.id());
    assertThat(repo.orphans("uploads", Duration.ZERO)).as("shared objects are no orphans").isEmpty();
    assertThat(repo.deleteOrphans("uploads", Duration.ZERO)).isZero();
    assertThat(repo.verify(second, List.of(Verifiers.roundTrip(Secrets.none())))).allMatch(VerificationResult::passed);
    assertThat(restoredDigests(second)).isEqualTo(expected);
    // What only the first backup held is gone.
    assertThat(repo.store().list("uploads/" + first.id() + "/")).extracting(ObjectInfo::key)
        .containsExactly(objects(repo, second).get("a.bin").key());

    repo.delete(second);
    assertThat(repo.store().list("uploads/")).as("nothing left once no backup records it").isEmpty();
  }

  @Test
  void objectsStoredThroughOtherKindsOfTransformsAreCopiedAgain() throws Exception {
    upload("a.bin", 50_000, 1);
    BackupPlan.builder("uploads").source(BucketSource.of(bucket)).repository(repo).build().run(); // no compression
    Manifest compressed = backup();
    assertThat(compressed.source().facts()).containsEntry("copiedObjects", 1).containsEntry("reusedObjects", 0);
    assertThat(objects(repo, compressed).get("a.bin").transforms()).extracting(TransformSpec::name).containsExactly("zstd");
    assertThat(backup().source().facts()).containsEntry("reusedObjects", 1);
    // The same kind of stage with other settings (as a rotated key would be) is another protection: copied again.
    Manifest recompressed = BackupPlan.builder("uploads").source(BucketSource.of(bucket)).transform(Transforms.zstd(9))
        .repository(repo).build().run().manifest();
    assertThat(recompressed.source().facts()).containsEntry("copiedObjects", 1).containsEntry("reusedObjects", 0);
  }

  @Test
  void aReusedObjectThatVanishedIsCopiedAgain() throws Exception {
    upload("a.bin", 50_000, 1);
    Manifest first = backup();
    repo.store().delete(objects(repo, first).get("a.bin").key());
    Manifest second = backup();
    assertThat(second.source().facts()).containsEntry("copiedObjects", 1).containsEntry("reusedObjects", 0);
    assertThat(restoredDigests(second)).isEqualTo(digests(uploads));
  }

  @Test
  void archiveCopiesOfIncrementalBackupsStandAlone() throws Exception {
    Repository archive = new Repository(new FilesystemStore(tmp.resolve("archive")));
    upload("a.bin", 100_000, 1);
    upload("b.bin", 100_000, 2);
    repo.copyTo(backup(), archive);
    upload("b.bin", 100_000, 3);
    Manifest second = backup();
    repo.copyTo(second, archive);
    archive.delete(archive.list("uploads").get(0));
    Path dir = tmp.resolve("from-archive");
    archive.restore(archive.list("uploads").get(0), new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX), Secrets.none());
    assertThat(digests(dir)).isEqualTo(digests(uploads));
  }

  @Test
  void reuseRefusesArtifactsOfOtherPlansAndDuplicates() throws Exception {
    upload("a.bin", 1000, 1);
    Manifest first = backup();
    ArtifactRecord a = objects(repo, first).get("a.bin");
    Source foreign = new Source() {
      @Override
      public String type() {
        return "test";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws java.io.IOException {
        assertThat(writer.previous()).isEmpty();
        writer.reuse(a);
        return Map.of();
      }
    };
    assertThatThrownBy(() -> BackupPlan.builder("other").source(foreign).repository(repo).build().run())
        .hasMessageContaining("only artifacts of the same plan");
    Source twice = new Source() {
      @Override
      public String type() {
        return "test";
      }

      @Override
      public Map<String, Object> backup(ArtifactWriter writer) throws java.io.IOException {
        assertThat(writer.previous()).get().extracting(Manifest::id).isEqualTo(first.id());
        assertThat(writer.reuse(a)).isTrue();
        writer.open(a.name()).close();
        return Map.of();
      }
    };
    assertThatThrownBy(() -> BackupPlan.builder("uploads").source(twice).transform(Transforms.zstd()).repository(repo)
        .build().run())
        .hasMessageContaining("already written");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = repo.openRaw(a, Secrets.none())) {
      in.transferTo(out);
    }
    assertThat(out.size()).as("the failed run did not delete the reused object").isEqualTo(1000);
  }

  @Test
  void anErrorInACopyingWorkerFailsTheBackupCleanly() throws Exception {
    upload("a.bin", 300_000, 1);
    upload("b.bin", 300_000, 2);
    upload("c.bin", 300_000, 3);
    // A worker dies of an Error (not an exception) half-way through an object: no hang, no manifest, no remains.
    Store failing = new ForwardingStore(bucket) {
      @Override
      public InputStream get(String key, long offset, long length) throws java.io.IOException {
        InputStream in = super.get(key, offset, length);
        if (!key.equals("b.bin")) {
          return in;
        }
        return new java.io.FilterInputStream(in) {
          int read;

          @Override
          public int read(byte[] b, int off, int len) throws java.io.IOException {
            if ((read += len) > 100_000) {
              throw new OutOfMemoryError("simulated: Java heap space");
            }
            return super.read(b, off, len);
          }
        };
      }
    };
    java.util.concurrent.CompletableFuture<Throwable> outcome = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        BackupPlan.builder("uploads").source(BucketSource.of(failing).parallelism(2)).transform(Transforms.zstd())
            .repository(repo).build().run();
        return null;
      } catch (Throwable t) {
        return t;
      }
    });
    Throwable failure = outcome.get(60, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(failure).isInstanceOf(SourceException.class).hasMessageContaining("simulated: Java heap space");
    assertThat(repo.list("uploads")).isEmpty();
    assertThat(repo.store().list("uploads/")).as("no artifacts left behind")
        .allMatch(o -> o.key().contains("/leases/")).isEmpty();
  }
}
