package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The PITR runbook through the CLI: wal stream, basebackup, an incident, restore --at … --to pgdata: --verify. */
class CliPitrTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  static String one(Connection c, String sql) throws Exception {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getString(1);
    }
  }

  @Test
  void streamBaseBackupIncidentAndRestoreToJustBefore() throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x")); // the server runs as postgres
    String db = pg.createDatabase("cli_pitr");
    String repo = "file:" + tmp.resolve("repo");
    Map<String, String> env = Map.of("WAL_PASSPHRASE", "wal secret");
    String slot = "savepoint_cli_" + Long.toHexString(System.nanoTime());
    ProcessBuilder streamer = CliProcess.builder("256m", "wal", "stream", "--repo", repo, "--plan", "cluster",
        "--source", pg.url(db), "--slot", slot, "--flush-interval", "PT0.5S", "--encrypt-passphrase-env",
        "WAL_PASSPHRASE").redirectErrorStream(true).redirectOutput(tmp.resolve("stream.log").toFile());
    streamer.environment().putAll(env);
    Process stream = streamer.start();
    String beforeIncident;
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      stream.getOutputStream().close();
      // A base backup is restorable only with the WAL from its start: begin streaming first, as the runbook says.
      Instant up = Instant.now().plusSeconds(60);
      while (!Files.readString(tmp.resolve("stream.log")).contains("streaming WAL of system") && Instant.now().isBefore(up)) {
        assertThat(stream.isAlive()).as(Files.readString(tmp.resolve("stream.log"))).isTrue();
        Thread.sleep(100);
      }
      s.execute("CREATE TABLE orders (id int PRIMARY KEY, total numeric)");
      CliProcess.Result base = CliProcess.run(env, "basebackup", "--repo", repo, "--plan", "cluster", "--source",
          pg.url(db), "--encrypt-passphrase-env", "WAL_PASSPHRASE");
      assertThat(base.exit()).as(base.err()).isZero();
      s.execute("INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 50) g");
      Thread.sleep(1500);
      beforeIncident = one(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
          + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
      Thread.sleep(1500);
      s.execute("DROP TABLE orders"); // the bad deploy
      Thread.sleep(2500); // more than the flush interval: the drop is durable too
    } finally {
      stream.destroy(); // SIGTERM: the streamer stores its partial segment and stops
      assertThat(stream.waitFor(60, TimeUnit.SECONDS)).isTrue();
      try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
      }
    }
    CliProcess.Result verify = CliProcess.run("wal", "verify", "--repo", repo, "--plan", "cluster");
    assertThat(verify.exit()).as(verify.err() + verify.out()).isZero();
    assertThat(verify.out()).contains("recoverable from", "WAL chain complete");

    String streamLog = Files.readString(tmp.resolve("stream.log")); // for the failure message only
    Path dataDir = tmp.resolve("restored");
    CliProcess.Result restore = CliProcess.run(env, "restore", "--repo", repo, "--plan", "cluster", "--at",
        beforeIncident, "--to", "pgdata:" + dataDir, "--passphrase-env", "WAL_PASSPHRASE", "--verify");
    assertThat(restore.exit()).as(restore.err() + streamLog).isZero();
    assertThat(restore.err()).contains("verified: recovered and promoted");
    try (var running = dev.savepoint.postgres.pitr.LocalCluster.startRecovered(dataDir, 15, java.time.Duration.ofMinutes(2));
        Connection c = running.url().withDatabase(db).connect()) {
      assertThat(one(c, "SELECT count(*) || ':' || sum(total) FROM orders")).isEqualTo("50:12750");
    }
    CliProcess.Result tooLate = CliProcess.run(env, "restore", "--repo", repo, "--plan", "cluster", "--at",
        Instant.now().plusSeconds(3600).toString(), "--to", "pgdata:" + tmp.resolve("late"), "--passphrase-env",
        "WAL_PASSPHRASE");
    assertThat(tooLate.exit()).isNotZero();
    assertThat(tooLate.err()).contains("recoverable window");
    assertThat(tmp.resolve("late")).doesNotExist();
  }
}
