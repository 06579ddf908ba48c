package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.store.FilesystemStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A WAL archive whose records are intact but whose data objects are not — one deleted, one with a flipped byte —
 * passes a check of the records; reading the data back names both, before a restore needs them.
 */
class WalReadDataTest {
  @TempDir
  Path tmp;

  @Test
  void aDeletedAndAFlippedWalObjectAreNamed() throws Exception {
    Path dir = tmp.resolve("repo");
    Repository repo = new Repository(new FilesystemStore(dir));
    WalArchive archive = new WalArchive(repo, "cluster", List.of(Transforms.zstd()));
    Random random = new Random(3);
    List<String> names = List.of("000000010000000000000001", "000000010000000000000002", "000000010000000000000003");
    for (String name : names) {
      byte[] segment = new byte[1 << 20];
      random.nextBytes(segment);
      archive.store(name, segment, segment.length);
    }
    PointInTimeRestore pitr = new PointInTimeRestore(repo, "cluster");
    assertThat(pitr.readData(Secrets.none(), 1, true).damaged()).isEmpty();

    Files.delete(dir.resolve(archive.entries().get(names.get(1)).artifact().key()));
    Path flipped = dir.resolve(archive.entries().get(names.get(2)).artifact().key());
    byte[] stored = Files.readAllBytes(flipped);
    stored[stored.length / 2] ^= 1;
    Files.write(flipped, stored);

    assertThat(archive.entries()).as("the records alone still look complete").containsOnlyKeys(names);
    PointInTimeRestore.DataCheck check = pitr.readData(Secrets.none(), 1, true);
    assertThat(check.walFilesRead()).isEqualTo(3);
    assertThat(check.damaged()).containsOnlyKeys(names.get(1), names.get(2));
    assertThat(check.damaged().get(names.get(1))).contains("missing");
    assertThat(check.damaged().get(names.get(2))).as("a flipped byte, caught by the digest or the decoder").isNotBlank();
  }
}
