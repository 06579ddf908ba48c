package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 35.4: under load, the end of the recoverable window is the newest commit in the durable WAL — what a restore
 * reaches — not the time the newest file was stored, minutes (archive_command) or hundreds of milliseconds (a
 * streamer uploading a segment) after commits that are not in the archive yet. Restoring to the reported end replays
 * exactly up to it.
 */
class HonestWindowTest {
  @TempDir
  Path tmp;

  @Test
  void restoringToTheWindowEndUnderLoadReplaysExactlyToIt() throws Exception {
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    try (TestPostgres server = TestPostgres.dedicated()) {
      PostgresUrl url = PostgresUrl.parse(server.url("postgres"));
      Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
      String slot = "savepoint_window_" + Long.toHexString(System.nanoTime());
      // No flush of partial segments during the test: only complete segments become durable, as with archive_command.
      WalStreamer streamer = new WalStreamer(url, new WalArchive(repo, "cluster", List.of(Transforms.zstd())), slot,
          Duration.ofHours(1));
      Thread streaming = new Thread(streamer, "test-wal-streamer");
      streaming.start();
      AtomicBoolean writing = new AtomicBoolean(true);
      AtomicLong rows = new AtomicLong();
      Instant early;
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).isNotNull();
        s.execute("CREATE TABLE load (id bigint PRIMARY KEY, body text)");
        BackupPlan.builder("cluster").source(new BaseBackupSource(url)).transform(Transforms.zstd()).repository(repo)
            .verifier(Verifiers.presence(1)).build().run();
        long startLsn = streamer.durableLsn();
        Thread writer = new Thread(() -> {
          try (Connection w = server.connect("postgres"); Statement ws = w.createStatement()) {
            while (writing.get()) { // one commit at a time, each about 8 KB of WAL
              ws.execute("INSERT INTO load VALUES (" + rows.incrementAndGet() + ", repeat(md5(random()::text), 250))");
            }
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, "test-load");
        writer.start();
        while (rows.get() < 20) {
          Thread.sleep(10);
        }
        early = Instant.parse(TestPostgres.single(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
            + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
        // Until three more segments are durable (the early time's stop lies segments before the newest), then a
        // little more: commits the archive does not hold yet.
        Instant deadline = Instant.now().plusSeconds(180);
        while (streamer.durableLsn() < startLsn + 3 * 16L * 1024 * 1024 && Instant.now().isBefore(deadline)) {
          Thread.sleep(50);
        }
        Thread.sleep(500);
        writing.set(false);
        writer.join(30_000);
      }
      PointInTimeRestore pitr = new PointInTimeRestore(repo, "cluster");
      Instant end = pitr.window().to();
      Path restored = tmp.resolve("restored");
      PointInTimeRestore.Result r = pitr.restore(end, restored, Secrets.none());
      LocalCluster.Recovered recovered = LocalCluster.verifyRecovery(restored, r.serverMajor(), Duration.ofMinutes(2));
      assertThat(recovered.lastReplayedCommit()).as("the restore reaches the window's end, not short of it")
          .isEqualTo(end);
      // A restore reads only what it needs (issue 43): with the newest complete segment damaged, a time early in the
      // load still restores — its WAL ends segments before — while the newest WAL cannot.
      WalArchive archive = new WalArchive(repo, "cluster", List.of());
      String newestComplete = archive.entries().keySet().stream().filter(n -> n.matches("[0-9A-F]{24}"))
          .reduce((a, b) -> b).orElseThrow();
      String key = archive.entry(newestComplete).orElseThrow().artifact().key();
      byte[] stored;
      try (var in = repo.store().get(key)) {
        stored = in.readAllBytes();
      }
      stored[stored.length / 2] ^= 1;
      repo.store().put(key, dev.savepoint.core.store.ByteSource.wrap(stored));
      PointInTimeRestore.Result atEarly = pitr.restore(early, tmp.resolve("early"), Secrets.none());
      assertThat(atEarly.walFiles()).as("fetched WAL files").isLessThan(r.walFiles());
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> pitr.restore(null, tmp.resolve("latest"),
          Secrets.none())).isInstanceOf(dev.savepoint.core.IntegrityException.class)
          .hasMessageContaining(newestComplete);
      streamer.close();
      streaming.join(30_000);
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
      }
    }
  }
}
