package dev.savepoint.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.ObjectIndex;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.BucketTarget;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.testkit.TestS3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** The seed's "aws s3 sync s3://app/uploads s3://backup/uploads-DATE/" and back, against a real S3 server. */
class S3BucketSourceTest {
  static final TestS3Server server = TestS3Server.shared();

  @TempDir
  Path tmp;

  @Test
  void uploadsAreBackedUpIncrementallyAndRestoredToABucketAndADirectory() throws Exception {
    S3Client client = S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey());
    String app = server.createBucket("app");
    byte[] portrait = new byte[700_000];
    new Random(4).nextBytes(portrait);
    client.putObject(r -> r.bucket(app).key("uploads/maps/dungeon.png"), RequestBody.fromBytes(portrait));
    client.putObject(r -> r.bucket(app).key("uploads/avatars/勇者.txt"), RequestBody.fromString("hero"));
    client.putObject(r -> r.bucket(app).key("other/ignored.txt"), RequestBody.fromString("x"));

    Repository repo = new Repository(new InMemoryStore());
    BucketSource uploads = BucketSource.of(S3Store.builder(client, app).prefix("uploads/").build());
    Manifest m = BackupPlan.builder("uploads").source(uploads).transform(Transforms.zstd()).repository(repo)
        .build().run().manifest();
    List<ObjectIndex.Entry> entries = new java.util.ArrayList<>();
    ObjectIndex.forEach(repo, m, entries::add);
    assertThat(entries).extracting(e -> e.artifact().name())
        .containsExactlyInAnyOrder("objects/maps/dungeon.png", "objects/avatars/勇者.txt");
    assertThat(m.source().facts()).containsEntry("objectCount", 2).containsEntry("bucket", "s3://" + app + "/uploads/");
    assertThat(entries).allSatisfy(e -> assertThat(e.etag()).isNotBlank());
    assertThat(entries).extracting(ObjectIndex.Entry::size).containsExactlyInAnyOrder(700_000L, 4L);

    // The next backup reads only what changed: S3's ETag says which.
    client.putObject(r -> r.bucket(app).key("uploads/avatars/勇者.txt"), RequestBody.fromString("hero, level 2"));
    Manifest next = BackupPlan.builder("uploads").source(uploads).transform(Transforms.zstd()).repository(repo)
        .build().run().manifest();
    assertThat(next.source().facts()).containsEntry("copiedObjects", 1).containsEntry("reusedObjects", 1);

    String restoreBucket = server.createBucket("restored");
    repo.restore(next, new BucketTarget(S3Store.builder(client, restoreBucket).prefix("uploads-20261128").build()),
        Secrets.none());
    assertThat(client.getObjectAsBytes(r -> r.bucket(restoreBucket).key("uploads-20261128/maps/dungeon.png")).asByteArray())
        .isEqualTo(portrait);

    Path dir = tmp.resolve("app-uploads");
    repo.restore(next, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX), Secrets.none());
    assertThat(dir.resolve("maps/dungeon.png")).hasBinaryContent(portrait);
    assertThat(Files.readString(dir.resolve("avatars/勇者.txt"))).isEqualTo("hero, level 2");
  }

  /**
   * Issue 36.4: restored "as of the backup", a prefix holds exactly the backup's objects — junk written after it is
   * deleted, changed objects are put back, matching ones are left alone — and every object replaced or deleted is in a
   * safety backup first, from which it can be restored. A second run changes nothing.
   */
  @Test
  void aRestoreAsOfTheBackupDeletesLaterObjectsKeepsASafetyCopyAndRewritesOnlyWhatDiffers() throws Exception {
    S3Client client = S3Store.client(server.endpoint(), server.region(), server.accessKey(), server.secretKey());
    String app = server.createBucket("asof");
    S3Store uploads = S3Store.builder(client, app).prefix("uploads/").build();
    java.util.Map<String, byte[]> original = new java.util.TreeMap<>();
    for (int i = 0; i < 20; i++) {
      byte[] body = new byte[1000 + i];
      new Random(i).nextBytes(body);
      original.put("maps/" + i + ".png", body);
      uploads.put("maps/" + i + ".png", dev.savepoint.core.store.ByteSource.wrap(body));
    }
    Repository repo = new Repository(new InMemoryStore());
    Manifest m = BackupPlan.builder("uploads").source(BucketSource.of(uploads)).transform(Transforms.zstd())
        .repository(repo).build().run().manifest();

    // After the backup: a user's legitimate change, a same-size change, a deletion, and junk.
    uploads.put("maps/1.png", dev.savepoint.core.store.ByteSource.wrap("a user's new upload".getBytes()));
    byte[] sameSize = original.get("maps/2.png").clone();
    sameSize[0] ^= 1;
    uploads.put("maps/2.png", dev.savepoint.core.store.ByteSource.wrap(sameSize));
    uploads.delete("maps/3.png");
    for (int i = 0; i < 3; i++) {
      uploads.put("junk/" + i, dev.savepoint.core.store.ByteSource.wrap(("junk " + i).getBytes()));
    }

    java.util.Map<String, Object> facts = repo.restore(m, new BucketTarget(uploads).asOfBackup(repo, "uploads-safety"),
        Secrets.none()).facts();
    assertThat(facts).containsEntry("objectsRestored", 3L).containsEntry("objectsDeleted", 3L)
        .containsEntry("objectsUnchanged", 17L).containsKey("safetyBackupId");
    java.util.Map<String, byte[]> now = new java.util.TreeMap<>();
    for (dev.savepoint.core.store.ObjectInfo o : uploads.list("")) {
      try (var in = uploads.get(o.key())) {
        now.put(o.key(), in.readAllBytes());
      }
    }
    assertThat(now.keySet()).isEqualTo(original.keySet());
    now.forEach((k, v) -> assertThat(v).as(k).isEqualTo(original.get(k)));

    // The safety backup holds what the restore replaced or deleted, as it was.
    Manifest safety = repo.manifest("uploads-safety", String.valueOf(facts.get("safetyBackupId")));
    assertThat(safety.tier()).isEqualTo("safety");
    Path displaced = tmp.resolve("displaced");
    repo.restore(safety, new FilesTarget(displaced, BucketSource.ARTIFACT_PREFIX), Secrets.none());
    assertThat(Files.readString(displaced.resolve("maps/1.png"))).isEqualTo("a user's new upload");
    assertThat(displaced.resolve("maps/2.png")).hasBinaryContent(sameSize);
    assertThat(Files.readString(displaced.resolve("junk/2"))).isEqualTo("junk 2");
    try (var files = Files.walk(displaced)) {
      assertThat(files.filter(Files::isRegularFile).count()).isEqualTo(5);
    }

    java.util.Map<String, Object> again = repo.restore(m, new BucketTarget(uploads).asOfBackup(repo, "uploads-safety"),
        Secrets.none()).facts();
    assertThat(again).containsEntry("objectsRestored", 0L).containsEntry("objectsDeleted", 0L)
        .doesNotContainKey("safetyBackupId");
    assertThat(repo.list("uploads-safety")).hasSize(1);
  }

  @Test
  void anUnreachableBucketFailsTheBackupWithAStoreErrorAndStoresNothing() throws Exception {
    S3Client unreachable = S3Store.client(java.net.URI.create("http://127.0.0.1:1"), "us-east-1", "x", "y");
    Repository repo = new Repository(new InMemoryStore());
    BucketSource uploads = BucketSource.of(S3Store.builder(unreachable, "app").prefix("uploads/").build());
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> BackupPlan.builder("uploads").source(uploads)
            .repository(repo).build().run())
        .isInstanceOf(dev.savepoint.core.StoreException.class).hasMessageContaining("list uploads/");
    assertThat(repo.store().list("uploads/")).isEmpty();
  }
}
