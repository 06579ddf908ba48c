package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Point-in-time recovery against the real server: WAL streamed over a physical slot into the repository, a base
 * backup streamed by pg_basebackup, and restores to a time between two batches and to the newest WAL, each
 * started as a real server that recovers and promotes.
 */
class PointInTimeRecoveryTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;


  static long count(PostgresUrl server, String db) throws Exception {
    try (Connection c = server.withDatabase(db).connect()) {
      return Long.parseLong(TestPostgres.single(c, "SELECT count(*) FROM events"));
    }
  }

  @Test
  void restoresToATimeBetweenTwoBatchesAndToTheNewestWal() throws Exception {
    // The server runs as postgres (the tests run as root): it must reach the restored directories.
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    String db = pg.createDatabase("pitr");
    PostgresUrl url = PostgresUrl.parse(pg.url(db));
    Path repoDir = tmp.resolve("repo");
    // Signed: WAL records are signed documents, so a writer without the key cannot substitute WAL (below).
    Repository repo = new Repository(new FilesystemStore(repoDir))
        .signedWith(dev.savepoint.core.security.ManifestSigner.hmacSha256(new byte[32]));
    String slot = "savepoint_test_" + Long.toHexString(System.nanoTime());
    WalArchive archive = new WalArchive(repo, "pitr", List.of(Transforms.zstd()));
    WalStreamer streamer = new WalStreamer(url, archive, slot, Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(500));
    Thread streaming = new Thread(streamer, "test-wal-streamer");
    streaming.start();
    assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).as("streaming before the base backup").isNotNull();
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp(), body text)");
      Manifest base = BackupPlan.builder("pitr").source(new BaseBackupSource(url)).transform(Transforms.zstd())
          .repository(repo).verifier(Verifiers.presence(1)).build().run().manifest();
      assertThat(base.source().facts()).containsKeys("startLsn", "stopLsn", "systemId", "timeline")
          .containsEntry("walRangeFrom", "backup_label and backup_manifest");
      // The recorded range is the backup's own, as the stored tar says it (not a bracket from outside).
      String label = null;
      String manifest = null;
      try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(repo.openRaw(
          base.artifact(BaseBackupSource.ARTIFACT).orElseThrow(), Secrets.none()))) {
        for (var e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
          if (e.getName().equals("backup_label")) {
            label = new String(tar.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
          } else if (e.getName().equals("backup_manifest")) {
            manifest = new String(tar.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
          }
        }
      }
      assertThat(label).contains("START WAL LOCATION: " + base.source().facts().get("startLsn") + " (file ");
      assertThat(manifest).containsPattern("\\{ \"Timeline\": 1, \"Start-LSN\": \"" + base.source().facts()
          .get("startLsn") + "\", \"End-LSN\": \"" + base.source().facts().get("stopLsn") + "\" \\}");

      s.execute("INSERT INTO events (id, body) SELECT g, 'before ' || g FROM generate_series(1, 100) g");
      String afterFirstBatch = TestPostgres.single(c, "SELECT pg_current_wal_insert_lsn()::text");
      Thread.sleep(1200);
      Instant target = Instant.parse(TestPostgres.single(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
          + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
      Thread.sleep(1200);
      s.execute("INSERT INTO events (id, body) SELECT g, 'after ' || g FROM generate_series(101, 200) g");
      s.execute("DELETE FROM events WHERE id = 1"); // the incident
      s.execute("SELECT pg_switch_wal()");
      s.execute("CREATE TABLE after_switch (id int)"); // so WAL follows the segment that ended
      long end = dev.savepoint.postgres.pitr.WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
      Instant deadline = Instant.now().plusSeconds(30);
      while (streamer.durableLsn() < end && Instant.now().isBefore(deadline)) {
        Thread.sleep(100);
      }
      assertThat(streamer.durableLsn()).as("the newest commit is durable within the flush interval").isGreaterThanOrEqualTo(end);

      PointInTimeRestore pitr = new PointInTimeRestore(repo, "pitr");
      assertThat(pitr.gaps()).isEmpty();
      // Caught up, the streamer says so: the window's end (and the RPO) stays current without new WAL.
      Instant windowEnd = pitr.window().to();
      Instant beatDeadline = Instant.now().plusSeconds(20);
      while ((archive.lastHeartbeat().isEmpty() || !pitr.window().to().isAfter(windowEnd))
          && Instant.now().isBefore(beatDeadline)) {
        Thread.sleep(200);
      }
      assertThat(archive.lastHeartbeat()).get().satisfies(beat -> assertThat(WalSegment.parseLsn(beat.durableLsn()))
          .isLessThanOrEqualTo(streamer.durableLsn()));
      assertThat(pitr.window().to()).isAfter(windowEnd);
      assertThat(pitr.rpoBreach(Duration.ofMinutes(15), Instant.now())).isEmpty();
      assertThat(pitr.rpoBreach(Duration.ofMillis(1), Instant.now().plusSeconds(5))).get()
          .satisfies(e -> assertThat(e.message()).contains("newest durable WAL of plan 'pitr'", "is the streamer running?"));
      assertThat(pitr.window().from()).isEqualTo(base.finishedAt());

      // To the time between the batches: the first batch is there, the second and the incident are not.
      Path beforeIncident = tmp.resolve("before");
      PointInTimeRestore.Result r = pitr.restore(target, beforeIncident, Secrets.none());
      assertThat(r.baseBackupId()).isEqualTo(base.id());
      try (LocalCluster.Running restored = LocalCluster.startRecovered(beforeIncident, 15, Duration.ofSeconds(120))) {
        assertThat(count(restored.url(), db)).isEqualTo(100);
        try (Connection rc = restored.url().withDatabase(db).connect()) {
          assertThat(TestPostgres.single(rc, "SELECT body FROM events WHERE id = 1")).isEqualTo("before 1");
          // Made durable with one syncfs, not an fsync per file of every database on the server (LocalCluster).
          assertThat(TestPostgres.single(rc, "SHOW recovery_init_sync_method")).isEqualTo("syncfs");
          rc.createStatement().execute("INSERT INTO events (id) VALUES (1000)"); // promoted: read-write
        }
      }
      // Archiving is left as the cluster had it (an in-place recovery must archive again); only the verifying server
      // Savepoint starts runs with archive_mode off.
      assertThat(Files.readString(beforeIncident.resolve("postgresql.auto.conf"))).doesNotContain("archive_mode")
          .contains("# removed by savepoint after recovery: restore_command");
      assertThat(beforeIncident.resolve(PointInTimeRestore.WAL_DIR)).as("tidied once promoted").doesNotExist();

      // To a WAL position: the one right after the first batch's commit.
      Path atLsn = tmp.resolve("at-lsn");
      assertThat(pitr.restoreToLsn(afterFirstBatch, atLsn, Secrets.none()).target())
          .isEqualTo("WAL position " + afterFirstBatch);
      try (LocalCluster.Running restored = LocalCluster.startRecovered(atLsn, 15, Duration.ofSeconds(120))) {
        assertThat(count(restored.url(), db)).isEqualTo(100);
      }
      assertThatThrownBy(() -> pitr.restoreToLsn("FF/0", tmp.resolve("lsn-too-late"), Secrets.none()))
          .isInstanceOf(RestoreException.class).hasMessageContaining("is durable only up to");
      assertThatThrownBy(() -> pitr.restoreToLsn("0/0", tmp.resolve("lsn-too-early"), Secrets.none()))
          .isInstanceOf(RestoreException.class).hasMessageContaining("no base backup of plan 'pitr' ended before");
      assertThat(tmp.resolve("lsn-too-late")).doesNotExist();

      // To the newest durable WAL: everything, the incident included.
      Path latest = tmp.resolve("latest");
      pitr.restore(null, latest, Secrets.none());
      LocalCluster.Recovered recovered = LocalCluster.verifyRecovery(latest, 15, Duration.ofSeconds(120));
      assertThat(recovered.lastReplayedCommit()).isAfter(target);
      try (LocalCluster.Running restored = LocalCluster.startRecovered(latest, 15, Duration.ofSeconds(120))) {
        assertThat(count(restored.url(), db)).isEqualTo(199);
      }

      // To the end of the window, usually after the last transaction: PostgreSQL would end recovery "before the
      // target" and refuse to start, so the restore replays all durable WAL instead (the state at that time). On
      // this shared server another database's autovacuum may commit after the target; then the target is used
      // as it is. Either way the server starts with every row.
      Path quiet = tmp.resolve("quiet");
      Instant windowTo = pitr.window().to();
      PointInTimeRestore.Result atEnd = pitr.restore(windowTo, quiet, Secrets.none());
      assertThat(atEnd.target()).satisfiesAnyOf(t -> assertThat(t).contains("no transaction ended after it"),
          t -> assertThat(t).isEqualTo(windowTo.toString()));
      try (LocalCluster.Running restored = LocalCluster.startRecovered(quiet, 15, Duration.ofSeconds(120))) {
        assertThat(count(restored.url(), db)).isEqualTo(199);
      }

      // Outside the window: refused, nothing written.
      assertThatThrownBy(() -> pitr.restore(base.startedAt().minusSeconds(60), tmp.resolve("too-early"), Secrets.none()))
          .isInstanceOf(RestoreException.class).hasMessageContaining("recoverable window");
      assertThatThrownBy(() -> pitr.restore(Instant.now().plusSeconds(3600), tmp.resolve("too-late"), Secrets.none()))
          .isInstanceOf(RestoreException.class).hasMessageContaining("durable only until");
      assertThat(tmp.resolve("too-early")).doesNotExist();
      assertThat(tmp.resolve("too-late")).doesNotExist();

      // Retention: WAL goes only with the base backups that need it.
      WalSegment baseStart = WalSegment.containing(1, WalSegment.parseLsn(String.valueOf(base.source().facts()
          .get("startLsn"))), ((Number) base.source().facts().get("walSegmentSize")).longValue());
      assertThat(pitr.pruneWal(true)).as("only what streamed before the oldest base backup began")
          .allMatch(n -> n.substring(0, 24).compareTo(baseStart.name()) < 0);
      s.execute("SELECT pg_switch_wal()");
      Manifest second = BackupPlan.builder("pitr").source(new BaseBackupSource(url)).transform(Transforms.zstd())
          .repository(repo).verifier(Verifiers.presence(1)).build().run().manifest();
      repo.prune("pitr", dev.savepoint.core.operations.Retention.builder().last(1).build(), false, Duration.ofHours(1));
      List<String> pruned = pitr.pruneWal(false);
      WalSegment secondStart = WalSegment.containing(1, WalSegment.parseLsn(String.valueOf(
          second.source().facts().get("startLsn"))), ((Number) second.source().facts().get("walSegmentSize")).longValue());
      assertThat(pruned).isNotEmpty().allMatch(n -> n.substring(0, 24).compareTo(secondStart.name()) < 0);
      assertThat(archive.entries().keySet()).noneMatch(pruned::contains);
      assertThat(pitr.window().from()).isEqualTo(second.finishedAt());

      // A lost segment is a gap, named; a restore past it is refused.
      streamer.close();
      streaming.join(30_000);
      // A WAL file whose stored bytes changed fails the restore, and the restore leaves the directory as it found it.
      java.util.Set<String> names = archive.entries().keySet();
      String victimName = names.stream().filter(n -> n.matches("[0-9A-F]{24}")).reduce((a, b) -> b)
          .orElseThrow(() -> new AssertionError("no complete segment in " + names));
      WalArchive.Entry victim = archive.entries().get(victimName);
      byte[] stored;
      try (var in = repo.store().get(victim.artifact().key())) {
        stored = in.readAllBytes();
      }
      byte[] flipped = stored.clone();
      flipped[flipped.length / 2] ^= 0x01;
      repo.store().put(victim.artifact().key(), dev.savepoint.core.store.ByteSource.wrap(flipped));
      Path damaged = Files.createDirectories(tmp.resolve("damaged"));
      assertThatThrownBy(() -> pitr.restore(null, damaged, Secrets.none()))
          .isInstanceOf(dev.savepoint.core.IntegrityException.class).hasMessageContaining(victimName);
      try (var left = Files.list(damaged)) {
        assertThat(left).as("nothing of the failed restore").isEmpty();
      }
      repo.store().put(victim.artifact().key(), dev.savepoint.core.store.ByteSource.wrap(stored));

      // The segment the (now oldest) base backup starts in: complete, since ending a backup switches segments.
      String lost = secondStart.name();
      assertThat(archive.entry(lost)).as("%s in %s", lost, archive.entries().keySet()).isPresent();
      // A changed record (its signature no longer holds) counts as missing, with the reason.
      String record = "pitr/wal/" + lost + ".json";
      byte[] original;
      try (var in = repo.store().get(record)) {
        original = in.readAllBytes();
      }
      repo.store().put(record, dev.savepoint.core.store.ByteSource.wrap(
          new String(original, java.nio.charset.StandardCharsets.UTF_8).replace("\"storedAt\"", " \"storedAt\"")
              .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      assertThat(pitr.gaps()).singleElement().asString().startsWith(lost + " (stored, but refused: ")
          .contains("signature");
      assertThatThrownBy(() -> pitr.restore(null, tmp.resolve("tampered"), Secrets.none()))
          .isInstanceOf(RestoreException.class).hasMessageContaining(lost).hasMessageContaining("signature");
      assertThat(tmp.resolve("tampered")).doesNotExist();
      repo.store().delete(record);
      assertThat(pitr.gaps()).containsExactly(lost);
      assertThatThrownBy(() -> pitr.restore(null, tmp.resolve("gap"), Secrets.none()))
          .isInstanceOf(RestoreException.class).hasMessageContaining(lost);
    } finally {
      streamer.close();
      streaming.join(30_000);
      try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
      }
    }
  }

  @Test
  void aRepositoryOutageLosesNoWalAndTheSlotKeepsWhatIsNotYetSafe() throws Exception {
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    String db = pg.createDatabase("outage");
    PostgresUrl url = PostgresUrl.parse(pg.url(db));
    dev.savepoint.testkit.FaultInjectingStore store =
        new dev.savepoint.testkit.FaultInjectingStore(new FilesystemStore(tmp.resolve("repo")));
    Repository repo = new Repository(store);
    String slot = "savepoint_outage_" + Long.toHexString(System.nanoTime());
    WalArchive archive = new WalArchive(repo, "outage", List.of(Transforms.zstd()));
    WalStreamer streamer = new WalStreamer(url, archive, slot, Duration.ofMillis(300));
    Thread streaming = new Thread(streamer, "test-wal-outage");
    streaming.start();
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).isNotNull();
      BackupPlan.builder("outage").source(new BaseBackupSource(url)).transform(Transforms.zstd()).repository(repo)
          .build().run();
      s.execute("CREATE TABLE t (id int, body text)");

      // The repository fails every write for a while: WAL keeps coming, nothing more becomes durable, and the slot
      // never releases WAL the repository does not hold.
      store.onlyFor(key -> key.startsWith("outage/wal/")).failNextPuts(Integer.MAX_VALUE);
      Thread.sleep(1000); // a store that was already under way finishes (or fails) first
      long durableBefore = streamer.durableLsn();
      Instant outageEnd = Instant.now().plusSeconds(6);
      int batch = 0;
      while (Instant.now().isBefore(outageEnd)) {
        s.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(" + (batch * 20000) + ", "
            + (batch * 20000 + 19999) + ") g");
        batch++;
        long restart = WalSegment.parseLsn(TestPostgres.single(c, "SELECT restart_lsn::text FROM pg_replication_slots "
            + "WHERE slot_name = '" + slot + "'"));
        assertThat(restart).as("the slot keeps what is not durable").isLessThanOrEqualTo(streamer.durableLsn());
        Thread.sleep(300);
      }
      assertThat(streamer.durableLsn()).as("nothing became durable during the outage").isEqualTo(durableBefore);
      assertThat(streamer.failure()).as("a store outage is retried, not fatal").isNull();

      // Back: the streamer catches up from the slot, and the chain has no gap.
      store.failNextPuts(0);
      s.execute("SELECT pg_switch_wal()");
      s.execute("CREATE TABLE after_outage (id int)");
      long end = WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
      Instant deadline = Instant.now().plusSeconds(90);
      while (streamer.durableLsn() < end && Instant.now().isBefore(deadline)) {
        Thread.sleep(100);
      }
      assertThat(streamer.durableLsn()).isGreaterThanOrEqualTo(end);
      assertThat(new PointInTimeRestore(repo, "outage").gaps()).isEmpty();
      assertThat(batch).isGreaterThan(3);
    } finally {
      streamer.close();
      streaming.join(30_000);
      try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
      }
    }
  }
}
