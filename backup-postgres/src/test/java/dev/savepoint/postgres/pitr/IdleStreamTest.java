package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.Repository;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server with nothing to write for more than three times its {@code wal_sender_timeout}: the streamer answers
 * the server's keepalives, so the same replication connection stays up (no timeout, no reconnect), and its
 * heartbeats keep the recoverable window current.
 */
class IdleStreamTest {
  @TempDir
  Path tmp;

  @Test
  void anIdleServerKeepsTheSameStreamForThreeTimesItsSenderTimeout() throws Exception {
    try (TestPostgres server = TestPostgres.dedicated("wal_sender_timeout=3s")) {
      WalArchive archive = new WalArchive(new Repository(new FilesystemStore(tmp.resolve("repo"))), "idle", List.of());
      WalStreamer streamer = new WalStreamer(PostgresUrl.parse(server.url("postgres")), archive, "idle_slot",
          Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(500));
      Thread streaming = new Thread(streamer, "idle-wal-streamer");
      streaming.start();
      try {
        assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).isNotNull();
        String connection = "SELECT pid || ' since ' || backend_start FROM pg_stat_replication";
        String before = server.single("postgres", connection);
        Thread.sleep(10_000); // more than 3 × wal_sender_timeout, without a single write
        assertThat(server.single("postgres", connection)).as("the same replication connection").isEqualTo(before);
        assertThat(archive.lastHeartbeat()).hasValueSatisfying(
            h -> assertThat(h.at()).isAfter(Instant.now().minusSeconds(3)));
      } finally {
        streamer.close();
        streaming.join(30_000);
      }
    }
  }
}
