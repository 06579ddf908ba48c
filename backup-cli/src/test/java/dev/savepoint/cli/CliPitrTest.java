package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
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


  @Test
  void streamBaseBackupIncidentAndRestoreToJustBefore() throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x")); // the server runs as postgres
    String db = pg.createDatabase("cli_pitr");
    String repo = "file:" + tmp.resolve("repo");
    Map<String, String> env = Map.of("WAL_PASSPHRASE", "wal secret");
    String slot = "savepoint_cli_" + Long.toHexString(System.nanoTime());
    ProcessBuilder streamer = CliProcess.builder("256m", "wal", "stream", "--insecure-unsigned", "--repo", repo, "--plan", "cluster",
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
      CliProcess.Result base = CliProcess.run(env, "basebackup", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--source",
          pg.url(db), "--encrypt-passphrase-env", "WAL_PASSPHRASE");
      assertThat(base.exit()).as(base.err()).isZero();
      s.execute("INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 50) g");
      // The runbook's proof that archiving works: a switched-away segment becomes durable (issue 35, wal check).
      CliProcess.Result check = CliProcess.run("wal", "check", "--insecure-unsigned", "--repo", repo, "--plan",
          "cluster", "--source", pg.url(db));
      assertThat(check.exit()).as(check.err()).isZero();
      assertThat(check.out()).contains("WAL archiving of plan 'cluster' works: segment");
      Thread.sleep(1500);
      beforeIncident = TestPostgres.single(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
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
    // Nothing archives any more: the check says so, exit 3.
    CliProcess.Result broken = CliProcess.run("wal", "check", "--insecure-unsigned", "--repo", repo, "--plan", "cluster",
        "--source", pg.url(db), "--timeout", "PT3S");
    assertThat(broken.exit()).isEqualTo(Main.INTEGRITY);
    assertThat(broken.err()).contains("is not durable in plan 'cluster' after PT3S: archiving does not work");
    // The daemon's log says what it did, by default (issue 37.8): connected, and stopped with how far it got.
    assertThat(Files.readString(tmp.resolve("stream.log"))).contains("INFO", "streaming WAL of",
        "WAL streaming from", "stopped; durable up to");
    CliProcess.Result verify = CliProcess.run("wal", "verify", "--insecure-unsigned", "--repo", repo, "--plan", "cluster");
    assertThat(verify.exit()).as(verify.err() + verify.out()).isZero();
    assertThat(verify.out()).contains("timeline 1 (the newest): recoverable from", "WAL chain complete");

    // A drill of the point-in-time plan: recovered into a scratch directory, started, promoted, recorded.
    CliProcess.Result drill = CliProcess.run(env, "drill", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--pgdata",
        tmp.resolve("drills").toString(), "--passphrase-env", "WAL_PASSPHRASE");
    assertThat(drill.exit()).as(drill.err()).isZero();
    assertThat(drill.out()).contains("PASSED");
    assertThat(CliProcess.run("list", "--repo", repo, "--plan", "cluster", "--json").out())
        .contains("recovered to latest and promoted");
    try (var left = Files.list(tmp.resolve("drills"))) {
      assertThat(left).as("the scratch directory is removed").isEmpty();
    }

    String streamLog = Files.readString(tmp.resolve("stream.log")); // for the failure message only
    Path dataDir = tmp.resolve("restored");
    CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--at",
        beforeIncident, "--to", "pgdata:" + dataDir, "--passphrase-env", "WAL_PASSPHRASE", "--verify");
    assertThat(restore.exit()).as(restore.err() + streamLog).isZero();
    assertThat(restore.err()).contains("verified: recovered and promoted");
    try (var running = dev.savepoint.postgres.pitr.LocalCluster.startRecovered(dataDir, 15, java.time.Duration.ofMinutes(2));
        Connection c = running.url().withDatabase(db).connect()) {
      assertThat(TestPostgres.single(c, "SELECT count(*) || ':' || sum(total) FROM orders")).isEqualTo("50:12750");
    }
    // The same restore as a step of a recovery file (a command step would then start PostgreSQL on it).
    Path recovered = tmp.resolve("recovered");
    Path recovery = Files.writeString(tmp.resolve("recovery.yaml"), String.join("\n", "name: cluster", "repository: "
        + repo, "steps:", "  - {name: restore-cluster, restore: {plan: cluster, to: \"pgdata:" + recovered + "\"}}", ""));
    CliProcess.Result planned = CliProcess.run(env, "recover", "--insecure-unsigned", "--config", recovery.toString(), "--at", beforeIncident,
        "--dry-run");
    assertThat(planned.exit()).as(planned.err()).isZero();
    assertThat(planned.out()).contains("restore plan 'cluster' to " + Instant.parse(beforeIncident) + " into "
        + recovered, "recoverable from");
    CliProcess.Result recover = CliProcess.run(env, "recover", "--insecure-unsigned", "--config", recovery.toString(), "--at", beforeIncident,
        "--passphrase-env", "WAL_PASSPHRASE");
    assertThat(recover.exit()).as(recover.err() + recover.out()).isZero();
    try (var running = dev.savepoint.postgres.pitr.LocalCluster.startRecovered(recovered, 15,
        java.time.Duration.ofMinutes(2)); Connection c = running.url().withDatabase(db).connect()) {
      assertThat(TestPostgres.single(c, "SELECT count(*) || ':' || sum(total) FROM orders")).isEqualTo("50:12750");
    }

    CliProcess.Result tooLate = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--at",
        Instant.now().plusSeconds(3600).toString(), "--to", "pgdata:" + tmp.resolve("late"), "--passphrase-env",
        "WAL_PASSPHRASE");
    assertThat(tooLate.exit()).isNotZero();
    assertThat(tooLate.err()).contains("recoverable window");
    assertThat(tmp.resolve("late")).doesNotExist();
  }

  /** Starts {@code savepoint wal stream} and waits until it streams; its output goes to {@code log}. */
  static Process startStreamer(Path log, String... args) throws Exception {
    Process p = CliProcess.builder("256m", args).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    p.getOutputStream().close();
    Instant up = Instant.now().plusSeconds(60);
    long seen = Files.readString(log).split("streaming WAL of system", -1).length;
    while (Files.readString(log).split("streaming WAL of system", -1).length == seen && Instant.now().isBefore(up)) {
      assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
      Thread.sleep(100);
    }
    return p;
  }

  @Test
  void aKilledStreamerResumesWithoutAGapAndItsSegmentsEqualTheServersOwnArchive() throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path serverArchive = Files.createDirectory(tmp.resolve("server-archive"));
    Files.setPosixFilePermissions(serverArchive, PosixFilePermissions.fromString("rwxrwxrwx"));
    // PostgreSQL's own archive beside the streamer: every completed segment, copied by the server.
    try (TestPostgres server = TestPostgres.dedicated("archive_mode=on",
        "archive_command='cp %p " + serverArchive + "/%f'", "archive_timeout=0")) {
      String repo = "file:" + tmp.resolve("repo");
      Path log = tmp.resolve("stream.log");
      Files.writeString(log, "");
      String[] stream = {"wal", "stream", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--source", server.url("postgres"),
          "--flush-interval", "PT0.5S"};
      Process first = startStreamer(log, stream);
      try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
        CliProcess.Result base = CliProcess.run("basebackup", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--source",
            server.url("postgres"));
        assertThat(base.exit()).as(base.err()).isZero();
        s.execute("CREATE TABLE notes (id int, body text)");
        // About 20 MB of WAL: the streamer is killed in the middle of a segment, after some partial uploads.
        s.execute("INSERT INTO notes SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 150000) g");
        Thread.sleep(1500);
        first.destroyForcibly(); // kill -9: no partial stored on the way out, no clean stop
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        // The server goes on writing while no streamer runs; the slot keeps that WAL.
        s.execute("INSERT INTO notes SELECT g, md5(g::text) || md5((g * 11)::text) FROM generate_series(150001, 300000) g");
        Process second = startStreamer(log, stream);
        try {
          s.execute("INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(300001, 350000) g");
          String lastSegment = TestPostgres.single(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
          s.execute("SELECT pg_switch_wal()");
          s.execute("CREATE TABLE after_switch (id int)");
          Instant deadline = Instant.now().plusSeconds(120);
          while (!(Files.exists(serverArchive.resolve(lastSegment))
              && Files.exists(tmp.resolve("repo/cluster/wal/" + lastSegment + ".json")))
              && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
          }
          assertThat(serverArchive.resolve(lastSegment)).as("archived by the server").exists();
        } finally {
          second.destroy();
          assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
      }
      CliProcess.Result verify = CliProcess.run("wal", "verify", "--insecure-unsigned", "--repo", repo, "--plan", "cluster");
      assertThat(verify.exit()).as(verify.out() + verify.err() + Files.readString(log)).isZero();
      assertThat(verify.out()).contains("WAL chain complete");
      CliProcess.Result report = CliProcess.run("report", "--repo", repo, "--json", "--max-wal-age", "PT0S");
      com.fasterxml.jackson.databind.JsonNode cluster = new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree(report.out()).get("plans").get(0);
      assertThat(cluster.has("recoverableFrom") && cluster.has("recoverableTo")).as(report.out()).isTrue();
      assertThat(report.out()).contains("newest durable WAL of plan 'cluster'", "is the streamer running?");

      // Every complete segment both have is byte for byte the server's own.
      dev.savepoint.postgres.pitr.WalArchive archive = new dev.savepoint.postgres.pitr.WalArchive(
          new dev.savepoint.core.Repository(dev.savepoint.core.store.Stores.filesystem(tmp.resolve("repo"))), "cluster",
          java.util.List.of());
      int compared = 0;
      for (var e : archive.entries().entrySet()) {
        Path own = serverArchive.resolve(e.getKey());
        if (!e.getKey().matches("[0-9A-F]{24}") || !Files.exists(own)) {
          continue;
        }
        try (var in = archive.open(e.getValue(), dev.savepoint.core.Secrets.none())) {
          assertThat(in.readAllBytes()).as(e.getKey()).isEqualTo(Files.readAllBytes(own));
        }
        compared++;
      }
      assertThat(compared).as("segments in both archives").isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void thePushServerArchivesWalFromArchiveCommandWithoutAJvmPerFile() throws Exception {
    Path walDir = Files.createDirectories(tmp.resolve("pg_wal"));
    byte[] segment = new byte[16 * 1024 * 1024];
    new java.util.Random(7).nextBytes(segment);
    Files.write(walDir.resolve("000000010000000000000010"), segment);
    Files.writeString(walDir.resolve("00000002.history"), "1\t0/3000000\tno recovery target specified\n");
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Path log = tmp.resolve("push-server.log");
    String token = "a-push-token-of-at-least-32-characters";
    Path tokenFile = Files.writeString(tmp.resolve("push-token"), token + "\n");
    Process server = CliProcess.builder("256m", "wal", "push-server", "--insecure-unsigned", "--repo", "file:" + tmp.resolve("repo"), "--plan",
        "cluster", "--wal-dir", walDir.toString(), "--port", Integer.toString(port), "--token-file",
        tokenFile.toString()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    try {
      Instant up = Instant.now().plusSeconds(60);
      while (!Files.readString(log).contains("archiving WAL") && Instant.now().isBefore(up)) {
        assertThat(server.isAlive()).as(Files.readString(log)).isTrue();
        Thread.sleep(100);
      }
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.util.function.BiFunction<String, String, Integer> pushWith = (name, sent) -> {
        try {
          java.net.http.HttpRequest.Builder request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
              "http://127.0.0.1:" + port + "/push?file=" + name)).POST(java.net.http.HttpRequest.BodyPublishers.noBody());
          if (sent != null) {
            request.header("X-Savepoint-Token", sent);
          }
          return http.send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      };
      java.util.function.Function<String, Integer> push = name -> pushWith.apply(name, token);
      // Another user of the machine, without the token, archives nothing (it could push a segment still being written).
      assertThat(pushWith.apply("000000010000000000000010", null)).isEqualTo(401);
      assertThat(pushWith.apply("000000010000000000000010", token.substring(1))).isEqualTo(401);
      assertThat(push.apply("000000010000000000000010")).isEqualTo(200);
      assertThat(push.apply("00000002.history")).isEqualTo(200);
      assertThat(push.apply("000000010000000000000010")).as("the same file again").isEqualTo(200);
      segment[100] ^= 1;
      Files.write(walDir.resolve("000000010000000000000010"), segment);
      assertThat(push.apply("000000010000000000000010")).as("other content under an archived name").isEqualTo(409);
      assertThat(push.apply("..%2F..%2Fetc%2Fpasswd")).as("only WAL file names").isEqualTo(400);
      assertThat(push.apply("000000010000000000000011")).as("a missing file").isEqualTo(500);
    } finally {
      server.destroy();
      assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    dev.savepoint.postgres.pitr.WalArchive archive = new dev.savepoint.postgres.pitr.WalArchive(
        new dev.savepoint.core.Repository(dev.savepoint.core.store.Stores.filesystem(tmp.resolve("repo"))), "cluster",
        java.util.List.of());
    assertThat(archive.entries()).containsOnlyKeys("000000010000000000000010", "00000002.history");
    segment[100] ^= 1;
    try (var in = archive.open(archive.entries().get("000000010000000000000010"), dev.savepoint.core.Secrets.none())) {
      assertThat(in.readAllBytes()).isEqualTo(segment);
    }
  }

  /**
   * PostgreSQL's own archiver hands every WAL file to {@code wal push-server} with curl, under a write load; while the
   * push server is down the archive command fails, PostgreSQL keeps the files and retries, and once it is back the
   * archive catches up with no segment missing.
   */
  static final String PUSH_TOKEN = "0123456789abcdef0123456789abcdef-push";

  @Test
  void archiveCommandThroughThePushServerKeepsUpAndLosesNothingWhileItIsDown() throws Exception {
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    try (TestPostgres server = TestPostgres.dedicated("archive_mode=on", "archive_timeout=0",
        "archive_command='curl -fsS -X POST -H \"X-Savepoint-Token: " + PUSH_TOKEN + "\" \"http://127.0.0.1:" + port
            + "/push?file=%f\"'");
        Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
      String repo = "file:" + tmp.resolve("repo");
      Path log = tmp.resolve("push-server.log");
      String[] pushServer = {"wal", "push-server", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--wal-dir",
          server.dataDirectory().resolve("pg_wal").toString(), "--port", Integer.toString(port), "--token-file",
          Files.writeString(tmp.resolve("push-token"), PUSH_TOKEN).toString()};
      Process push = startPushServer(log, pushServer);
      s.execute("CREATE TABLE notes (id int, body text)");
      String first = TestPostgres.single(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
      // About 3 segments of WAL, then the push server goes away while the load goes on.
      s.execute("INSERT INTO notes SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(1, 200000) g");
      push.destroy();
      assertThat(push.waitFor(30, TimeUnit.SECONDS)).isTrue();
      s.execute("INSERT INTO notes SELECT g, md5(g::text) || md5((g * 5)::text) FROM generate_series(200001, 400000) g");
      String last = TestPostgres.single(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
      s.execute("SELECT pg_switch_wal()");
      Instant retried = Instant.now().plusSeconds(60);
      while (Long.parseLong(TestPostgres.single(c, "SELECT failed_count FROM pg_stat_archiver")) == 0 && Instant.now().isBefore(retried)) {
        Thread.sleep(200);
      }
      assertThat(Long.parseLong(TestPostgres.single(c, "SELECT failed_count FROM pg_stat_archiver"))).as("the archiver saw the "
          + "command fail and keeps the file").isPositive();

      Instant back = Instant.now();
      push = startPushServer(log, pushServer);
      try {
        // After three failures in a row the archiver waits up to a minute, or until the next WAL file is ready.
        s.execute("INSERT INTO notes VALUES (0, 'after the outage')");
        last = TestPostgres.single(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
        s.execute("SELECT pg_switch_wal()");
        Instant deadline = back.plusSeconds(120);
        while (!last.equals(TestPostgres.single(c, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"))
            && Instant.now().isBefore(deadline)) {
          Thread.sleep(200);
        }
        assertThat(TestPostgres.single(c, "SELECT last_archived_wal FROM pg_stat_archiver")).as(Files.readString(log)).isEqualTo(last);
      } finally {
        push.destroy();
        assertThat(push.waitFor(30, TimeUnit.SECONDS)).isTrue();
      }
      long first_ = Long.parseLong(first.substring(16), 16);
      long last_ = Long.parseLong(last.substring(16), 16);
      assertThat(last_ - first_).as("segments written under load").isGreaterThanOrEqualTo(4);
      java.util.Set<String> archived = new dev.savepoint.postgres.pitr.WalArchive(new dev.savepoint.core.Repository(
          dev.savepoint.core.store.Stores.filesystem(tmp.resolve("repo"))), "cluster", java.util.List.of()).entries().keySet();
      for (long seg = first_; seg <= last_; seg++) {
        assertThat(archived).as("no segment missing").contains(first.substring(0, 16) + String.format("%08X", seg));
      }
      System.out.printf("archive_command via push-server: %d segments; caught up %s after the push server came back%n",
          last_ - first_ + 1, java.time.Duration.between(back, Instant.now()));
    }
  }

  private static Process startPushServer(Path log, String... args) throws Exception {
    Process p = CliProcess.builder("256m", args).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    long seen = Files.exists(log) ? Files.readString(log).split("archiving WAL", -1).length : 1;
    Instant up = Instant.now().plusSeconds(60);
    while (Files.readString(log).split("archiving WAL", -1).length == seen && Instant.now().isBefore(up)) {
      assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
      Thread.sleep(100);
    }
    return p;
  }

  @Test
  void walAndBaseBackupsUnderKmsEnvelopeEncryptionRestore() throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    try (dev.savepoint.testkit.FakeKmsServer kms = new dev.savepoint.testkit.FakeKmsServer()) {
      Map<String, String> env = Map.of("AWS_ENDPOINT_URL_KMS", kms.endpoint().toString(), "AWS_REGION", "us-east-1",
          "AWS_ACCESS_KEY_ID", "test", "AWS_SECRET_ACCESS_KEY", "test", "AWS_EC2_METADATA_DISABLED", "true");
      String db = pg.createDatabase("cli_pitr_kms");
      String repo = "file:" + tmp.resolve("repo");
      String slot = "savepoint_kms_" + Long.toHexString(System.nanoTime());
      Path log = Files.writeString(tmp.resolve("stream.log"), "");
      ProcessBuilder streamer = CliProcess.builder("256m", "wal", "stream", "--insecure-unsigned", "--repo", repo, "--plan", "cluster",
          "--source", pg.url(db), "--slot", slot, "--flush-interval", "PT0.5S", "--kms-key-id", "alias/wal")
          .redirectErrorStream(true).redirectOutput(log.toFile());
      streamer.environment().putAll(env);
      Process stream = streamer.start();
      try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
        Instant up = Instant.now().plusSeconds(60);
        while (!Files.readString(log).contains("streaming WAL of system") && Instant.now().isBefore(up)) {
          assertThat(stream.isAlive()).as(Files.readString(log)).isTrue();
          Thread.sleep(100);
        }
        CliProcess.Result base = CliProcess.run(env, "basebackup", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--source",
            pg.url(db), "--kms-key-id", "alias/wal");
        assertThat(base.exit()).as(base.err()).isZero();
        s.execute("CREATE TABLE secrets_of_the_realm AS SELECT g AS id FROM generate_series(1, 42) g");
        Thread.sleep(2000); // more than the flush interval
      } finally {
        stream.destroy();
        assertThat(stream.waitFor(60, TimeUnit.SECONDS)).isTrue();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
          s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
        }
      }
      assertThat(Files.readString(tmp.resolve("repo/cluster/wal/" + Files.list(tmp.resolve("repo/cluster/wal"))
          .map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json") && n.length() == 29).findFirst()
          .orElseThrow()))).contains("\"kek\" : \"aws-kms\"");
      Path dataDir = tmp.resolve("restored");
      CliProcess.Result restore = CliProcess.run(env, "restore", "--insecure-unsigned", "--repo", repo, "--plan", "cluster", "--to",
          "pgdata:" + dataDir, "--verify");
      assertThat(restore.exit()).as(restore.err() + Files.readString(log)).isZero();
      try (var running = dev.savepoint.postgres.pitr.LocalCluster.startRecovered(dataDir, 15, java.time.Duration.ofMinutes(2));
          Connection c = running.url().withDatabase(db).connect()) {
        assertThat(TestPostgres.single(c, "SELECT count(*) FROM secrets_of_the_realm")).isEqualTo("42");
      }
    }
  }
}
