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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The second incident: production is recovered in place to a time before the first one (the documented recipe: stop,
 * restore into its own data directory, start), writes go on on the new timeline, and the streamer archives them. A
 * later restore of the newest WAL, from the base backup taken before the first incident, brings back every row
 * written after the recovery and none of those the recovery undid.
 */
class InPlaceRecoveryTest {
  @TempDir
  Path tmp;


  static void awaitDurable(WalStreamer streamer, Connection c) throws Exception {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT pg_switch_wal()");
      s.execute("CREATE TABLE IF NOT EXISTS filler (i int)"); // WAL after the switch, so the segment ends
    }
    long end = WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
    Instant deadline = Instant.now().plusSeconds(60);
    while (streamer.durableLsn() < end && Instant.now().isBefore(deadline)) {
      Thread.sleep(100);
    }
    assertThat(streamer.durableLsn()).as("durable within a minute").isGreaterThanOrEqualTo(end);
  }

  static void serverCtl(TestPostgres server, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--",
        server.binDir().orElseThrow().resolve("pg_ctl").toString(), "-D", server.dataDirectory().toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(out).isZero();
  }

  @Test
  void afterAnInPlaceRecoveryTheNewTimelineIsArchivedFromItsForkAndRestoresWhole() throws Exception {
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    try (TestPostgres server = TestPostgres.dedicated()) {
      PostgresUrl url = PostgresUrl.parse(server.url("postgres"));
      Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")))
          .signedWith(dev.savepoint.core.security.ManifestSigner.hmacSha256(new byte[32]));
      String slot = "savepoint_inplace_" + Long.toHexString(System.nanoTime());
      WalStreamer streamer = new WalStreamer(url, new WalArchive(repo, "cluster", List.of(Transforms.zstd())), slot,
          Duration.ofMillis(300));
      Thread streaming = new Thread(streamer, "test-wal-streamer");
      streaming.start();
      Instant target;
      Instant onTimeline2;
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        assertThat(streamer.awaitStreaming(Duration.ofSeconds(60))).isNotNull();
        s.execute("CREATE TABLE events (id int PRIMARY KEY, body text)");
        BackupPlan.builder("cluster").source(new BaseBackupSource(url)).transform(Transforms.zstd()).repository(repo)
            .verifier(Verifiers.presence(1)).build().run();
        s.execute("INSERT INTO events SELECT g, 'before' FROM generate_series(1, 100) g");
        Thread.sleep(1200);
        target = Instant.parse(TestPostgres.single(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
            + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
        Thread.sleep(1200);
        // A second base backup on timeline 1, after the point the recovery will branch off: it cannot reach
        // timeline 2, so later restores must not choose it however recent it is (issue 35.6).
        s.execute("INSERT INTO events SELECT g, 'between' FROM generate_series(101, 110) g");
        BackupPlan.builder("cluster").source(new BaseBackupSource(url)).transform(Transforms.zstd()).repository(repo)
            .verifier(Verifiers.presence(1)).build().run();
        // The first incident, and enough WAL after it that the archive's newest segment lies past the fork.
        s.execute("DELETE FROM events WHERE id <= 50");
        s.execute("INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1001, 60000) g");
        awaitDurable(streamer, c);
      } finally {
        streamer.close();
        streaming.join(30_000);
      }

      // The documented in-place recovery: stop, restore into production's own (emptied) directory, start.
      serverCtl(server, "-m", "fast", "-w", "stop");
      Path data = server.dataDirectory();
      Files.move(data, data.resolveSibling("data.before-recovery"));
      PointInTimeRestore.Result r = new PointInTimeRestore(repo, "cluster").restore(target, data, Secrets.none());
      serverCtl(server, "-l", data.resolveSibling("recovered.log").toString(), "-w", "-t", "120", "-o",
          "-p " + server.port() + " -k " + data.getParent() + " -c listen_addresses=127.0.0.1", "start");
      Instant promoted = Instant.now().plusSeconds(120);
      while (Instant.now().isBefore(promoted)) {
        try (Connection c = server.connect("postgres")) {
          if (TestPostgres.single(c, "SELECT pg_is_in_recovery()").equals("f")) {
            break;
          }
        } catch (java.sql.SQLException starting) {
          // not yet
        }
        Thread.sleep(200);
      }
      assertThat(r.target()).isEqualTo(target.toString());
      // Production keeps nothing of the recovery: no fetched WAL, no active recovery setting (35.2).
      assertThat(data.resolve(PointInTimeRestore.WAL_DIR)).doesNotExist();
      assertThat(Files.readAllLines(data.resolve("postgresql.auto.conf"))).as("active settings after promotion")
          .filteredOn(line -> !line.isBlank() && !line.startsWith("#"))
          .noneMatch(line -> line.matches("(?i)\\s*(restore_command|recovery_\\w+)\\s*=.*"));

      WalStreamer after = new WalStreamer(url, new WalArchive(repo, "cluster", List.of(Transforms.zstd())), slot,
          Duration.ofMillis(300));
      Thread streamingAfter = new Thread(after, "test-wal-streamer-after");
      streamingAfter.start();
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events")).as("recovered to the target").isEqualTo("100");
        assertThat(TestPostgres.single(c, "SELECT timeline_id FROM pg_control_checkpoint()")).isEqualTo("2");
        assertThat(after.awaitStreaming(Duration.ofSeconds(60))).contains("timeline 2");
        s.execute("INSERT INTO events SELECT g, 'after the recovery' FROM generate_series(200, 249) g");
        Thread.sleep(1200);
        onTimeline2 = Instant.parse(TestPostgres.single(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
            + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
        Thread.sleep(1200);
        s.execute("INSERT INTO events SELECT g, 'after the recovery' FROM generate_series(250, 299) g");
        awaitDurable(after, c);
      } finally {
        after.close();
        streamingAfter.join(30_000);
      }

      PointInTimeRestore pitr = new PointInTimeRestore(repo, "cluster");
      assertThat(pitr.gaps()).isEmpty();
      PointInTimeRestore.Result latest = pitr.restore(null, tmp.resolve("second-incident"), Secrets.none());
      LocalCluster.Recovered recovered = LocalCluster.verifyRecovery(latest.directory(), latest.serverMajor(),
          Duration.ofMinutes(2));
      assertThat(latest.shortfall(recovered)).isEmpty();
      try (LocalCluster.Running running = LocalCluster.startRecovered(latest.directory(), latest.serverMajor(),
          Duration.ofMinutes(2)); Connection c = running.url().connect()) {
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE body = 'after the recovery'")).isEqualTo("100");
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE id <= 50")).as("the recovery's undo holds").isEqualTo("50");
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE id > 1000")).as("nothing of the undone past").isEqualTo("0");
      }

      // A time on timeline 2 (issue 35.6), from the base backup taken on timeline 1: recovery follows the timeline
      // path, never timeline 1's segments of the same numbers past the fork.
      PointInTimeRestore.Result second = pitr.restore(onTimeline2, tmp.resolve("on-timeline-2"), Secrets.none());
      LocalCluster.Recovered atT2 = LocalCluster.verifyRecovery(second.directory(), second.serverMajor(),
          Duration.ofMinutes(2));
      assertThat(second.shortfall(atT2)).isEmpty();
      try (LocalCluster.Running running = LocalCluster.startRecovered(second.directory(), second.serverMajor(),
          Duration.ofMinutes(2)); Connection c = running.url().connect()) {
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE body = 'after the recovery'"))
            .isEqualTo("50");
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE id > 1000")).isEqualTo("0");
      }

      // Timeline 1 named (restore --timeline 1): the history the recovery left, up to its newest WAL — the incident's
      // rows included, nothing of timeline 2 — from the base backups that reach it (the second one included).
      PointInTimeRestore timeline1 = pitr.onTimeline(1);
      assertThat(timeline1.gaps()).isEmpty();
      PointInTimeRestore.Result old = timeline1.restore(null, tmp.resolve("timeline-1"), Secrets.none());
      try (LocalCluster.Running running = LocalCluster.startRecovered(old.directory(), old.serverMajor(),
          Duration.ofMinutes(2)); Connection c = running.url().connect()) {
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE id > 1000")).isEqualTo("59000");
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE id <= 50")).isEqualTo("0");
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM events WHERE body = 'after the recovery'"))
            .isEqualTo("0");
      }
      assertThat(pitr.onTimeline(2).restore(null, tmp.resolve("timeline-2"), Secrets.none()).baseBackupId())
          .as("timeline 2 named is the newest: the first base backup, the only one reaching it")
          .isEqualTo(latest.baseBackupId());
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> pitr.onTimeline(3).restore(null, tmp.resolve("t3"),
          Secrets.none())).isInstanceOf(dev.savepoint.core.RestoreException.class)
          .hasMessageContaining("can reach timeline 3").hasMessageContaining("timelines in the archive: [1, 2]");

      // What an archive without the fork segment (a streamer that resumed past the fork) looks like to wal verify.
      WalArchive archive = new WalArchive(repo, "cluster", List.of());
      String fork = archive.entries().keySet().stream().filter(n -> n.startsWith("00000002") && n.length() >= 24)
          .sorted().findFirst().orElseThrow();
      repo.deleteDocument("cluster/wal/" + fork + ".json");
      assertThat(pitr.gaps()).anySatisfy(g -> assertThat(g).startsWith(fork.substring(0, 24)).contains("timeline 2 begins"));
    }
  }
}
