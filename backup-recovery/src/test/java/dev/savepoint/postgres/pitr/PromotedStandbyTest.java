package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.testkit.TestPostgres;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failover: a standby made with pg_basebackup -R is promoted (timeline 2) and the streamer follows the new
 * primary into the same archive. The history file is stored, the new timeline's segments are named for it, and a
 * point-in-time restore to a time after the promotion has the rows of both timelines.
 */
class PromotedStandbyTest {
  @TempDir
  Path tmp;

  static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  static void run(List<String> command) throws Exception {
    List<String> cmd = new ArrayList<>();
    if (root()) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(command);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
  }


  @Test
  void theStreamerFollowsAPromotedStandbyOntoTheNewTimeline() throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
    try (TestPostgres primary = TestPostgres.dedicated()) {
      Path bin = TestPostgres.findBinDir().orElseThrow();
      PostgresUrl primaryUrl = PostgresUrl.parse(primary.url("postgres"));
      Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
      WalArchive archive = new WalArchive(repo, "cluster", List.of(Transforms.zstd()));
      WalStreamer first = new WalStreamer(primaryUrl, archive, "savepoint_failover", Duration.ofMillis(300));
      Thread firstThread = new Thread(first, "wal-primary");
      firstThread.start();
      assertThat(first.awaitStreaming(Duration.ofSeconds(60))).isNotNull();
      primary.execute("postgres", "CREATE TABLE events (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())");
      BackupPlan.builder("cluster").source(new BaseBackupSource(primaryUrl)).transform(Transforms.zstd())
          .repository(repo).build().run();
      primary.execute("postgres", "INSERT INTO events (id) SELECT g FROM generate_series(1, 100) g");

      // The standby, streaming from the primary.
      Path standbyDir = tmp.resolve("standby");
      Path socketDir = Files.createDirectories(tmp.resolve("standby-socket"));
      Files.setPosixFilePermissions(socketDir, PosixFilePermissions.fromString("rwxrwxrwx"));
      run(List.of(bin.resolve("pg_basebackup").toString(), "-D", standbyDir.toString(), "-R", "-X", "stream",
          "-h", "127.0.0.1", "-p", Integer.toString(primary.port()), "-U", "postgres"));
      int standbyPort;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        standbyPort = s.getLocalPort();
      }
      run(List.of(bin.resolve("pg_ctl").toString(), "-D", standbyDir.toString(), "-l",
          socketDir.resolve("log").toString(), "-w", "-o", "-p " + standbyPort + " -k " + socketDir
              + " -c listen_addresses=127.0.0.1", "start"));
      PostgresUrl standbyUrl = PostgresUrl.parse("postgresql://postgres@127.0.0.1:" + standbyPort + "/postgres");
      try {
        Instant deadline = Instant.now().plusSeconds(60);
        long replayed = 0;
        while (replayed < 100 && Instant.now().isBefore(deadline)) {
          Thread.sleep(200);
          try (Connection c = standbyUrl.connect()) {
            replayed = Long.parseLong(TestPostgres.single(c, "SELECT count(*) FROM events"));
          } catch (java.sql.SQLException notYet) {
            // starting
          }
        }
        assertThat(replayed).isEqualTo(100);
        // A base backup from the standby (issue 43.4): the load off the primary; its WAL is the primary's, archived.
        Manifest fromStandby = BackupPlan.builder("cluster").source(new BaseBackupSource(standbyUrl))
            .transform(Transforms.zstd()).repository(repo).build().run().manifest();
        assertThat(fromStandby.source().facts()).containsEntry("timeline", 1);

        // Failover: the old primary's WAL is archived up to its end, it stops, the standby is promoted.
        try (Connection c = primaryUrl.connect()) {
          long end = WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
          Instant caughtUp = Instant.now().plusSeconds(30);
          while (first.durableLsn() < end && Instant.now().isBefore(caughtUp)) {
            Thread.sleep(100);
          }
        }
        first.close();
        firstThread.join(30_000);
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", primary.dataDirectory().toString(), "-m", "fast", "-w",
            "stop"));
        // A recovery file's check waits for the promotion (issue 36.7): started while the standby still recovers, it
        // passes once promoted; a wrong answer of a server in recovery is no failure yet.
        java.util.concurrent.CompletableFuture<java.util.Map<String, Object>> promoted =
            java.util.concurrent.CompletableFuture.supplyAsync(() -> {
              try {
                return dev.savepoint.recovery.Steps.sqlCheck("promoted", standbyUrl, "SELECT pg_is_in_recovery()",
                    "f", Duration.ofSeconds(90)).run();
              } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
              }
            });
        Thread.sleep(1500);
        assertThat(promoted).as("still waiting while the standby recovers").isNotDone();
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", standbyDir.toString(), "-w", "promote"));
        assertThat(promoted.get(60, java.util.concurrent.TimeUnit.SECONDS)).containsEntry("result", "f")
            .hasEntrySatisfying("waitedMillis", waited -> assertThat((Long) waited).isGreaterThanOrEqualTo(1500L));

        // The streamer, pointed at the new primary, goes on into the same archive.
        WalStreamer second = new WalStreamer(standbyUrl, archive, "savepoint_failover", Duration.ofMillis(300));
        Thread secondThread = new Thread(second, "wal-new-primary");
        secondThread.start();
        try (Connection c = standbyUrl.connect(); Statement s = c.createStatement()) {
          assertThat(second.awaitStreaming(Duration.ofSeconds(60))).as("streaming from the promoted standby")
              .contains("timeline 2");
          s.execute("INSERT INTO events (id) SELECT g FROM generate_series(101, 150) g");
          s.execute("SELECT pg_switch_wal()");
          s.execute("CREATE TABLE after_failover (id int)");
          long end = WalSegment.parseLsn(TestPostgres.single(c, "SELECT pg_current_wal_lsn()::text"));
          Instant deadline2 = Instant.now().plusSeconds(60);
          while (second.durableLsn() < end && Instant.now().isBefore(deadline2)) {
            Thread.sleep(100);
          }
          assertThat(second.durableLsn()).isGreaterThanOrEqualTo(end);
        } finally {
          second.close();
          secondThread.join(30_000);
        }
        assertThat(second.failure()).isNull();
        assertThat(archive.entries().keySet()).contains("00000002.history")
            .anyMatch(n -> n.startsWith("00000002") && n.length() == 24);

        // Restore to the newest WAL: both timelines replayed, promoted, every row there — from the standby's backup.
        Path restored = tmp.resolve("restored");
        assertThat(new PointInTimeRestore(repo, "cluster").restore(null, restored, Secrets.none()).baseBackupId())
            .isEqualTo(fromStandby.id());
        try (LocalCluster.Running r = LocalCluster.startRecovered(restored, 15, Duration.ofSeconds(120));
            Connection c = r.url().connect()) {
          assertThat(TestPostgres.single(c, "SELECT count(*) FROM events")).isEqualTo("150");
        }
      } finally {
        try {
          run(List.of(bin.resolve("pg_ctl").toString(), "-D", standbyDir.toString(), "-m", "immediate", "-w", "stop"));
        } catch (AssertionError alreadyStopped) {
          // reported by the test itself
        }
      }
    }
  }
}
