package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.internal.Tar;
import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.store.InMemoryStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 37.7: uploads restored as root keep their owners (numeric, as recorded at backup) and the restored folder its
 * own mode, so the web server that served them can serve them again; ignoringOwners() leaves them to the restorer.
 */
class DirectoryOwnersTest {
  @TempDir
  Path tmp;

  @Test
  void ownersAndTheFoldersModeComeBackWhenRestoringAsRoot() throws Exception {
    if (!Tar.mayChown()) {
      // CI runs as root; elsewhere this cannot be tested without it, and says so.
      assertThat(System.getenv("CI")).as("CI must run this test as root").isNotEqualTo("true");
      Assumptions.abort("restoring owners needs root");
    }
    Path uploads = Files.createDirectories(tmp.resolve("uploads"));
    Path maps = Files.createDirectories(uploads.resolve("maps"));
    Path map = Files.writeString(maps.resolve("dungeon.png"), "map");
    Path avatar = Files.writeString(uploads.resolve("avatar.png"), "face");
    Files.createSymbolicLink(uploads.resolve("latest.png"), Path.of("avatar.png"));
    Tar.chown(map, 33, 33); // www-data
    Tar.chown(maps, 33, 33);
    Tar.chown(avatar, 1234, 2345);
    Tar.chown(uploads.resolve("latest.png"), 1234, 2345);
    Tar.chown(uploads, 33, 33);
    Files.setPosixFilePermissions(uploads, PosixFilePermissions.fromString("rwxr-xr-x"));

    Repository repo = new Repository(new InMemoryStore());
    Manifest m = BackupPlan.builder("uploads").source(new DirectorySource(uploads)).repository(repo).build().run()
        .manifest();
    Path restored = tmp.resolve("restored/uploads");
    repo.restore(m, DirectoryTarget.of(restored), Secrets.none());
    assertThat(Tar.owner(restored.resolve("maps/dungeon.png")).orElseThrow()).containsExactly(33, 33);
    assertThat(Tar.owner(restored.resolve("maps")).orElseThrow()).containsExactly(33, 33);
    assertThat(Tar.owner(restored.resolve("avatar.png")).orElseThrow()).containsExactly(1234, 2345);
    assertThat(Tar.owner(restored.resolve("latest.png")).orElseThrow()).as("the link itself").containsExactly(1234, 2345);
    assertThat(Tar.owner(restored).orElseThrow()).as("the folder itself").containsExactly(33, 33);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(restored, LinkOption.NOFOLLOW_LINKS)))
        .isEqualTo("rwxr-xr-x");

    Path mine = tmp.resolve("mine");
    repo.restore(m, DirectoryTarget.of(mine).ignoringOwners(), Secrets.none());
    assertThat(Tar.owner(mine.resolve("avatar.png")).orElseThrow()).containsExactly(0, 0);
  }
}
