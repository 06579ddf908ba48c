package dev.savepoint.gcs;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gs://app/uploads} backed up incrementally and restored to a bucket prefix and a directory, against
 * Google's in-memory GCS fake ({@code LocalStorageHelper}): no real GCS server runs here.
 */
class GcsBucketSourceFakeTest {
  @TempDir
  Path tmp;

  @Test
  void uploadsAreBackedUpIncrementallyAndRestored() throws Exception {
    Storage storage = LocalStorageHelper.getOptions().getService();
    put(storage, "app", "uploads/maps/dungeon.png", "a map");
    put(storage, "app", "uploads/avatars/勇者.txt", "hero");
    put(storage, "app", "other/ignored.txt", "x");
    Repository repo = new Repository(new InMemoryStore());
    // The fake lists in no particular order (GCS sorts by name): collected and sorted.
    BucketSource uploads = BucketSource.of(GcsStore.builder(storage, "app").prefix("uploads").sortedListing(false)
        .build());
    Manifest first = BackupPlan.builder("uploads").source(uploads).transform(Transforms.zstd()).repository(repo)
        .build().run().manifest();
    List<String> names = new java.util.ArrayList<>();
    ObjectIndex.forEach(repo, first, e -> names.add(e.artifact().name()));
    assertThat(names).containsExactlyInAnyOrder("objects/maps/dungeon.png", "objects/avatars/勇者.txt");
    assertThat(first.source().facts()).containsEntry("bucket", "gs://app/uploads/");

    put(storage, "app", "uploads/avatars/勇者.txt", "hero, level 2");
    Manifest next = BackupPlan.builder("uploads").source(uploads).transform(Transforms.zstd()).repository(repo)
        .build().run().manifest();
    assertThat(next.source().facts()).containsEntry("copiedObjects", 1).containsEntry("reusedObjects", 1);

    repo.restore(next, new BucketTarget(GcsStore.builder(storage, "restored").prefix("uploads-20261128").build()),
        Secrets.none());
    assertThat(new String(storage.readAllBytes(BlobId.of("restored", "uploads-20261128/avatars/勇者.txt")),
        StandardCharsets.UTF_8)).isEqualTo("hero, level 2");
    Path dir = tmp.resolve("uploads");
    repo.restore(next, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX), Secrets.none());
    assertThat(Files.readString(dir.resolve("maps/dungeon.png"))).isEqualTo("a map");
  }

  /**
   * A listing streamed as it arrives from a service that does not sort (the fake; GCS sorts by name) is not
   * mis-merged: every object is backed up and restored, twice over, and the backup says the keys came out of order
   * (unchanged objects may then be copied again rather than reused: slower, never lost).
   */
  @Test
  void aListingOutOfNameOrderLosesNothing() throws Exception {
    Storage storage = LocalStorageHelper.getOptions().getService();
    List<String> names = List.of("b", "a", "e/x", "c", "aa", "d", "ab");
    for (String name : names) {
      put(storage, "app", "uploads/" + name, "content of " + name);
    }
    GcsStore streamed = GcsStore.builder(storage, "app").prefix("uploads/").build();
    List<String> asListed = new java.util.ArrayList<>();
    streamed.listing("").forEach(o -> asListed.add(o.key()));
    assertThat(asListed).as("the fake's order, streamed as it comes").containsExactlyInAnyOrderElementsOf(names)
        .isNotEqualTo(asListed.stream().sorted().toList());

    Repository repo = new Repository(new InMemoryStore());
    for (int run = 0; run < 2; run++) {
      Manifest m = BackupPlan.builder("uploads").source(BucketSource.of(streamed)).repository(repo).build().run()
          .manifest();
      assertThat(m.source().facts()).containsEntry("objectCount", names.size())
          .containsKey("keysListedOutOfOrder");
      Path dir = tmp.resolve("run" + run);
      repo.restore(m, new FilesTarget(dir, BucketSource.ARTIFACT_PREFIX), Secrets.none());
      for (String name : names) {
        assertThat(Files.readString(dir.resolve(name))).isEqualTo("content of " + name);
      }
    }
  }

  static void put(Storage storage, String bucket, String name, String content) {
    storage.create(BlobInfo.newBuilder(bucket, name).build(), content.getBytes(StandardCharsets.UTF_8));
  }
}
