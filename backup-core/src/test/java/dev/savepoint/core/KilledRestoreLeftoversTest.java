package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a restore killed with {@code kill -9} leaves beside its destination is handled by the next restore there:
 * staging of dead processes is deleted, and a destination that a killed swap had moved away comes back first.
 */
class KilledRestoreLeftoversTest {
  /** No process has this id (Linux's limit is 2^22). */
  private static final long DEAD = 999_999_999L;

  @TempDir
  Path tmp;

  private Manifest directoryBackup(Repository repo) throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src"));
    Files.writeString(src.resolve("map.png"), "the map");
    return BackupPlan.builder("files").source(new DirectorySource(src)).repository(repo).build().run().manifest();
  }

  private String[] siblings() throws Exception {
    try (Stream<Path> s = Files.list(tmp.resolve("out"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
    }
  }

  @Test
  void aSwapKilledBetweenItsRenamesIsRolledBackAndDeadStagingIsRemoved() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = directoryBackup(repo);
    Path out = Files.createDirectories(tmp.resolve("out"));
    Path dest = out.resolve("uploads");
    // A restore killed after moving the old contents away and before moving the new ones in.
    Path old = Files.createDirectories(out.resolve(".uploads.savepoint-old-" + DEAD + "-a"));
    Files.writeString(old.resolve("before.txt"), "the data before");
    Files.createDirectories(out.resolve(".uploads.savepoint-restore-" + DEAD + "-b")).resolve("x");
    Path live = Files.createDirectories(out.resolve(".uploads.savepoint-restore-" + ProcessHandle.current().pid() + "-c"));

    assertThatThrownBy(() -> repo.restore(m, DirectoryTarget.of(dest), Secrets.none()))
        .isInstanceOf(RestoreException.class).hasMessageContaining("not an empty directory");
    assertThat(dest.resolve("before.txt")).as("put back").hasContent("the data before");
    assertThat(siblings()).as("a running restore's staging stays").containsExactly(
        live.getFileName().toString(), "uploads");

    Map<String, Object> facts = repo.restore(m, DirectoryTarget.of(dest).replacingExisting(), Secrets.none()).facts();
    assertThat(dest.resolve("map.png")).hasContent("the map");
    assertThat(dest.resolve("before.txt")).doesNotExist();
    // What was replaced is kept beside it, named in the facts: a restore loses no file the backup does not hold.
    Path kept = Path.of(String.valueOf(facts.get("replacedKeptAt")));
    assertThat(kept.resolve("before.txt")).hasContent("the data before");
    assertThat(kept.getFileName().toString()).startsWith("uploads.replaced-");
    Files.delete(live);
    assertThat(siblings()).containsExactlyInAnyOrder("uploads", kept.getFileName().toString());
  }

  @Test
  void decodedArtifactsComeBackToo() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = directoryBackup(repo);
    Path out = Files.createDirectories(tmp.resolve("out"));
    Path old = Files.createDirectories(out.resolve(".files.savepoint-old-" + DEAD + "-a"));
    Files.writeString(old.resolve("before.txt"), "the files before");
    assertThatThrownBy(() -> repo.restore(m, new FilesTarget(out.resolve("files"), ""), Secrets.none()))
        .isInstanceOf(RestoreException.class).hasMessageContaining("not empty");
    assertThat(out.resolve("files/before.txt")).as("put back").hasContent("the files before");
    assertThat(siblings()).containsExactly("files");
  }

  @Test
  void aDumpRestoreRemovesTheTemporaryFileOfAKilledOne() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("dump.sql", ByteSource.wrap("SELECT 1;".getBytes())))
        .repository(repo).build().run().manifest();
    Path out = Files.createDirectories(tmp.resolve("out"));
    Files.writeString(out.resolve(".dump.sql.savepoint-restore-" + DEAD + "-a"), "half a dump");
    repo.restore(m, StreamTarget.file(out.resolve("dump.sql")), Secrets.none());
    assertThat(siblings()).containsExactly("dump.sql");
  }
}
