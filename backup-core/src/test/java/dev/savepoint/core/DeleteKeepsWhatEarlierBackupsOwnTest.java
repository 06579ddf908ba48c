package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deleting a backup that reused an earlier backup's objects deletes its own objects only: the earlier backup,
 * still kept, owns what it stored (a monthly kept while the dailies after it go, or a backup deleted by hand).
 */
class DeleteKeepsWhatEarlierBackupsOwnTest {
  @TempDir
  Path tmp;

  private final InMemoryStore bucket = new InMemoryStore();
  private final Repository repo = new Repository(new InMemoryStore());
  private final BackupPlan plan = BackupPlan.builder("uploads").source(BucketSource.of(bucket)).repository(repo).build();

  @Test
  void deletingALaterIncrementalBackupKeepsTheEarlierBackupsObjects() throws Exception {
    for (String key : List.of("maps/a.png", "maps/b.png", "avatars/c.png")) {
      bucket.put(key, ByteSource.wrap(("content of " + key).getBytes(StandardCharsets.UTF_8)));
    }
    Manifest first = plan.run().manifest();
    Manifest second = plan.run().manifest();
    assertThat(second.source().facts()).containsEntry("reusedObjects", 3);

    repo.delete(second);

    assertRestores(repo, first, "after-delete");
    assertThat(repo.verify(first, List.of(Verifiers.presence(0), Verifiers.roundTrip())))
        .allMatch(VerificationResult::passed);
    assertThat(repo.orphans("uploads", Duration.ZERO)).isEmpty();
  }

  /** Quarantining an earlier backup (say, its manifest is damaged) leaves the objects later backups reuse. */
  @Test
  void quarantiningAnEarlierBackupKeepsWhatLaterOnesReuse() throws Exception {
    bucket.put("a.txt", ByteSource.wrap("alpha".getBytes(StandardCharsets.UTF_8)));
    Manifest first = plan.run().manifest();
    Manifest second = plan.run().manifest();
    repo.quarantine("uploads", first.id());
    assertThat(repo.list("uploads")).extracting(Manifest::id).containsExactly(second.id());
    assertThat(repo.store().list(Repository.QUARANTINE + "uploads/" + first.id() + "/")).isNotEmpty();
    assertRestores(repo, second, "second");
    assertThat(repo.orphans("uploads", Duration.ZERO)).isEmpty();
    assertThatThrownBy(() -> repo.quarantine("uploads", "20200101T000000.000Z-0000"))
        .isInstanceOf(BackupNotFoundException.class);
    assertThat(repo.store().list(Repository.QUARANTINE + "uploads/20200101T000000.000Z-0000/")).isEmpty();
  }

  /** A middle backup deleted: the one before owns the objects, the one after reuses them too. */
  @Test
  void deletingAMiddleBackupKeepsTheOnesBeforeAndAfterIt() throws Exception {
    bucket.put("a.txt", ByteSource.wrap("alpha".getBytes(StandardCharsets.UTF_8)));
    Manifest first = plan.run().manifest();
    Manifest middle = plan.run().manifest();
    bucket.put("b.txt", ByteSource.wrap("beta".getBytes(StandardCharsets.UTF_8)));
    Manifest last = plan.run().manifest();
    repo.delete(middle);
    assertRestores(repo, first, "first");
    assertRestores(repo, last, "last");
  }

  private static void assertRestores(Repository repo, Manifest backup, String name) throws Exception {
    Path dir = Files.createTempDirectory(name);
    Path target = dir.resolve("restored");
    repo.restore(backup, new FilesTarget(target, BucketSource.ARTIFACT_PREFIX), Secrets.none());
    ObjectIndex.forEach(repo, backup, e -> assertThat(target.resolve(e.key())).exists());
  }
}
