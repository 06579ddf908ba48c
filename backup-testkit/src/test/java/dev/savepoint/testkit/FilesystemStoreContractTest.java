package dev.savepoint.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.core.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FilesystemStoreContractTest extends StoreContract {
  @TempDir
  Path dir;

  @Override
  protected Store newStore() throws Exception {
    return new FilesystemStore(dir.resolve("repo"));
  }

  @Test
  void temporaryFilesOfKilledWritesAreInvisibleAndCleanedUp() throws Exception {
    FilesystemStore fs = (FilesystemStore) store;
    Path leftover = fs.root().resolve(".savepoint-tmp/dead.part");
    Files.write(leftover, new byte[] {1, 2, 3});
    Files.setLastModifiedTime(leftover, java.nio.file.attribute.FileTime.fromMillis(0));
    assertThat(store.list("")).isEmpty();
    assertThat(fs.cleanupIncomplete(Duration.ofHours(1))).isEqualTo(1);
    assertThat(leftover).doesNotExist();
  }

  @Test
  void deleteRemovesEmptiedDirectories() throws Exception {
    store.put("plan/id/a", dev.savepoint.core.store.ByteSource.wrap(new byte[] {1}));
    store.delete("plan/id/a");
    assertThat(((FilesystemStore) store).root().resolve("plan")).doesNotExist();
  }

  @Override
  protected boolean keysArePaths() {
    return true;
  }
}
