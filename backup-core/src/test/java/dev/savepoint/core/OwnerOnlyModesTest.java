package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.sources.EnvironmentFileTarget;
import dev.savepoint.core.sources.EnvironmentSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.FilesystemStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What holds backup data on a local disk is the owner's only: a filesystem repository's directories are 0700 and
 * its files 0600, and so are restored dumps and decoded artifacts; a file that replaces another keeps its mode.
 */
class OwnerOnlyModesTest {
  @TempDir
  Path tmp;

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void repositoriesAndRestoredFilesAreTheOwnersOnly() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = BackupPlan.builder("db").source(StreamSource.of("dump.sql", ByteSource.wrap("SELECT 1;".getBytes())))
        .transform(Transforms.zstd()).repository(repo).build().run().manifest();
    try (Stream<Path> all = Files.walk(tmp.resolve("repo"))) {
      for (Path p : all.toList()) {
        assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
      }
    }

    Path dump = tmp.resolve("restored/dump.sql");
    repo.restore(m, StreamTarget.file(dump), Secrets.none());
    assertThat(mode(dump)).isEqualTo("rw-------");
    assertThat(mode(dump.getParent())).isEqualTo("rwx------");

    Files.setPosixFilePermissions(dump, PosixFilePermissions.fromString("rw-r-----"));
    Files.writeString(dump, "written after the backup");
    Repository.RestoreResult replaced = repo.restore(m, StreamTarget.file(dump).replacingExisting(), Secrets.none());
    assertThat(mode(dump)).as("a replaced file keeps its mode").isEqualTo("rw-r-----");
    // What was there is kept beside it, as a directory restore keeps it, and said where.
    Path kept = Path.of(String.valueOf(replaced.facts().get("replacedKeptAt")));
    assertThat(kept.getFileName().toString()).startsWith("dump.sql.replaced-");
    assertThat(kept).hasContent("written after the backup");

    Path files = tmp.resolve("files");
    repo.restore(m, new FilesTarget(files, ""), Secrets.none());
    try (Stream<Path> all = Files.walk(files)) {
      for (Path p : all.toList()) {
        assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
      }
    }
  }

  @Test
  void anEnvFileIsTheOwnersOnlyUnlessItReplacesOneWithAnotherMode() throws Exception {
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest m = BackupPlan.builder("config").source(EnvironmentSource.of(List.of("APP_*"),
        Map.of("APP_REGION", "tokyo"))).repository(repo).build().run().manifest();
    Path env = tmp.resolve("app/.env");
    repo.restore(m, new EnvironmentFileTarget(env), Secrets.none());
    assertThat(mode(env)).isEqualTo("rw-------");
    Files.setPosixFilePermissions(env, PosixFilePermissions.fromString("rw-r-----"));
    repo.restore(m, new EnvironmentFileTarget(env), Secrets.none());
    assertThat(mode(env)).isEqualTo("rw-r-----");
    assertThat(Files.readString(env)).contains("APP_REGION=tokyo");
  }
}
