package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.store.InMemoryStore;
import dev.savepoint.testkit.TestPostgres;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A plan's WAL archive holds one database system's WAL: a segment of another cluster is refused, naming both. */
class WalSystemIdentifierTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @Test
  void aSegmentOfAnotherClusterIsRefusedNamingBothSystems() throws Exception {
    Path walDir = pg.dataDirectory().resolve("pg_wal");
    Path real;
    try (var files = Files.list(walDir)) {
      real = files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}")).sorted().findFirst().orElseThrow();
    }
    byte[] segment = Files.readAllBytes(real);
    String system = pg.single("postgres", "SELECT system_identifier::text FROM pg_control_system()");
    assertThat(WalArchive.systemIdOf(segment, segment.length)).contains(system);

    WalArchive archive = new WalArchive(new Repository(new InMemoryStore()), "cluster", List.of());
    archive.store(real.getFileName().toString(), segment, segment.length);
    assertThat(archive.systemId()).contains(system);

    byte[] other = segment.clone();
    long otherSystem = Long.parseLong(system) ^ 0x5a5a;
    ByteBuffer.wrap(other).order(ByteOrder.LITTLE_ENDIAN).putLong(24, otherSystem);
    assertThatThrownBy(() -> archive.store("0000000100000000000000FE", other, other.length))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining(system).hasMessageContaining(Long.toString(otherSystem));
    assertThat(archive.entries()).containsOnlyKeys(real.getFileName().toString());
    // Files without a segment header (a timeline history) carry no system and pass.
    byte[] history = "1\t0/3000000\tno recovery target specified\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    archive.store("00000002.history", history, history.length);
  }
}
