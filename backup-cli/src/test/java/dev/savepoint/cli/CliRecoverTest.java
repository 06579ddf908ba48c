package dev.savepoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The platform's recovery procedure as one command, on real parts: a PostgreSQL database, an uploads directory,
 * a configuration backup, writer stop/start hooks the test observes, and an HTTP server standing in for the
 * application whose health turns 200 only when it can query the restored database.
 */
class CliRecoverTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  @TempDir
  Path tmp;

  static long users(String db) throws Exception {
    try (Connection c = pg.connect(db); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT count(*) FROM users")) {
      r.next();
      return r.getLong(1);
    }
  }

  @Test
  void recoverDatabaseUploadsAndConfigThenResumeAfterAFailedStep() throws Exception {
    String db = pg.createDatabase("recover_trpg");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    long usersBefore = users(db);
    Path uploads = Files.createDirectories(tmp.resolve("uploads"));
    Files.writeString(uploads.resolve("map.png"), "the dungeon map");
    Path env = tmp.resolve("app.env");
    String repo = "file:" + tmp.resolve("repo");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--source", pg.url(db)).exit()).isZero();
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "uploads", "--source", "file:" + uploads).exit()).isZero();
    assertThat(CliProcess.run(Map.of("APP_REGION", "tokyo", "APP_DB_PASSWORD", "canary-pw"), "backup", "--insecure-unsigned", "--repo", repo,
        "--plan", "config", "--source", "env:APP_*").exit()).isZero();

    // The application: healthy only when it can query its database (and, for the test, when it is up at all).
    java.util.concurrent.atomic.AtomicBoolean appUp = new java.util.concurrent.atomic.AtomicBoolean(true);
    HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/api/health", exchange -> {
      int status;
      try {
        status = appUp.get() && users(db) > 0 ? 200 : 503;
      } catch (Exception e) {
        status = 503;
      }
      exchange.sendResponseHeaders(status, -1);
      exchange.close();
    });
    java.util.List<String> notifications = new java.util.concurrent.CopyOnWriteArrayList<>();
    app.createContext("/hooks/recovery", exchange -> {
      notifications.add(new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    app.start();
    Map<String, String> hookEnv = Map.of("RECOVERY_WEBHOOK", "http://127.0.0.1:" + app.getAddress().getPort()
        + "/hooks/recovery");
    Path hooks = tmp.resolve("hooks.log");
    String recovery = """
        name: trpg
        repository: %s
        rto: PT1H
        checklist: [Declare the incident, Notify users]
        webhookEnv: RECOVERY_WEBHOOK
        steps:
          - name: stop-writers
            command: [sh, -c, "echo stop >> %s"]
            stateIfFailed: writers may be partly stopped
          - name: restore-database
            restore: {plan: db, to: "%s", scope: database}
          - name: restore-uploads
            restore: {plan: %s, to: "file:%s"}
          - name: restore-config
            restore: {plan: config, to: "envfile:%s"}
          - name: check-users
            check: {database: "%s", sql: "SELECT count(*) > 0 FROM users", expect: "t"}
          - name: start-writers
            command: [sh, -c, "echo start >> %s"]
          - name: health
            health: http://127.0.0.1:%d/api/health
            timeout: PT10S
        """;
    try {
      // The incident: the database, the uploads and the configuration are damaged.
      try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
        s.execute("TRUNCATE users CASCADE");
      }
      Files.delete(uploads.resolve("map.png"));
      Files.writeString(env, "garbage");
      Path file = tmp.resolve("recovery.yaml");
      Files.writeString(file, recovery.formatted(repo, hooks, pg.url(db), "uploads-typo", uploads, env, pg.url(db), hooks,
          app.getAddress().getPort()));

      CliProcess.Result dry = CliProcess.run(hookEnv, "recover", "--insecure-unsigned", "--config", file.toString(), "--dry-run");
      assertThat(dry.exit()).as(dry.err()).isEqualTo(Main.USAGE); // the typo is found without changing anything
      assertThat(dry.out()).as("every step resolved, also after the one that cannot be").contains(
          "restore-uploads      unresolvable", "uploads-typo", "restore-config       planned", "health               planned");
      assertThat(dry.err()).contains("cannot be carried out as written", "step restore-uploads");
      assertThat(hooks).doesNotExist();
      assertThat(users(db)).isZero();

      assertThat(notifications).as("a dry run tells no one").isEmpty();
      CliProcess.Result failed = CliProcess.run(hookEnv, "recover", "--insecure-unsigned", "--config", file.toString(), "--json");
      assertThat(failed.exit()).isNotZero();
      JsonNode report = new ObjectMapper().readTree(failed.out());
      assertThat(report.get("failedStep").asText()).isEqualTo("restore-uploads");
      assertThat(report.get("stateAfterFailure").asText()).startsWith("unchanged: nothing ran");
      assertThat(failed.err()).contains("--resume " + report.get("id").asText());
      // Every step is checked before the first change: the typo in step 3 stopped nothing and restored nothing.
      assertThat(hooks).doesNotExist();
      assertThat(users(db)).isZero();

      // Fixed; now the last step fails (the application does not come up), after everything else was done.
      Files.writeString(file, recovery.formatted(repo, hooks, pg.url(db), "uploads", uploads, env, pg.url(db), hooks,
          app.getAddress().getPort()));
      appUp.set(false);
      CliProcess.Result down = CliProcess.run(hookEnv, "recover", "--insecure-unsigned", "--config", file.toString(),
          "--resume", report.get("id").asText(), "--json");
      assertThat(down.exit()).isNotZero();
      JsonNode downReport = new ObjectMapper().readTree(down.out());
      assertThat(downReport.get("failedStep").asText()).isEqualTo("health");
      assertThat(users(db)).as("the database step ran before the failure").isEqualTo(usersBefore);

      appUp.set(true);
      CliProcess.Result resumed = CliProcess.run(hookEnv, "recover", "--insecure-unsigned", "--config", file.toString(), "--resume",
          report.get("id").asText(), "--json");
      assertThat(resumed.exit()).as(resumed.err()).isZero();
      JsonNode done = new ObjectMapper().readTree(resumed.out());
      assertThat(done.get("outcome").asText()).isEqualTo("recovered");
      assertThat(done.findValuesAsText("outcome")).containsSequence("skipped", "skipped", "skipped", "skipped",
          "skipped", "skipped", "done");
      assertThat(done.get("rtoSeconds").asLong()).isGreaterThanOrEqualTo(0);
      assertThat(done.get("rtoTargetSeconds").asLong()).isEqualTo(3600);
      assertThat(Files.readString(hooks)).isEqualTo("stop\nstart\n");
      assertThat(uploads.resolve("map.png")).hasContent("the dungeon map");
      assertThat(Files.readString(env)).contains("APP_REGION=tokyo").doesNotContain("canary-pw")
          .contains("# APP_DB_PASSWORD=");
      assertThat(users(db)).isEqualTo(usersBefore);
      assertThat(resumed.out()).doesNotContain("canary-pw");
      assertThat(notifications).hasSize(6);
      assertThat(notifications.get(0)).contains("RECOVERY_STARTED", "started by");
      assertThat(notifications.get(1)).contains("RECOVERY_FAILED", "stopped at step restore-uploads");
      assertThat(notifications.get(2)).contains("RECOVERY_STARTED", "resumed by");
      assertThat(notifications.get(3)).contains("RECOVERY_FAILED", "stopped at step health");
      assertThat(notifications.get(4)).contains("RECOVERY_STARTED", "resumed by");
      assertThat(notifications.get(5)).contains("RECOVERY_FINISHED", "recovered in", "RTO target 3600 s met");
      assertThat(String.join("", notifications)).doesNotContain("canary-pw");
    } finally {
      app.stop(0);
    }
  }

  @Test
  void aDrillRehearsesThePlanOnStagingTargetsAndLaterDryRunsQuoteItsTimes() throws Exception {
    String db = pg.createDatabase("recover_drill_live");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    long usersBefore = users(db);
    String repo = "file:" + tmp.resolve("repo");
    assertThat(CliProcess.run("backup", "--insecure-unsigned", "--repo", repo, "--plan", "db", "--source", pg.url(db)).exit()).isZero();
    // Written after the backup: a restore over the live database would remove it, a drill must not.
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE written_after_backup (id int)");
    }
    String staging = "recover_drill_staging_" + Long.toHexString(System.nanoTime());
    Path hooks = tmp.resolve("hooks.log");
    Path file = Files.writeString(tmp.resolve("recovery.yaml"), """
        name: trpg
        repository: %1$s
        steps:
          - name: approve
            approve: {quorum: 2}
          - name: stop-writers
            command: [sh, -c, "echo stop >> %2$s"]
            drill: {command: [sh, -c, "echo drill-stop >> %2$s"]}
          - name: restore-database
            restore: {plan: db, to: "%3$s"}
            drill: {restore: {plan: db, to: "%4$s"}}
          - name: check-users
            check: {database: "%3$s", sql: "SELECT count(*) > 0 FROM users", expect: "t"}
            drill: {check: {database: "%4$s", sql: "SELECT count(*) > 0 FROM users", expect: "t"}}
          - name: start-writers
            command: [sh, -c, "echo start >> %2$s"]
            drill: {skip: true}
        """.formatted(repo, hooks, pg.url(db), pg.url(staging)));

    CliProcess.Result drill = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(), "--drill");
    assertThat(drill.exit()).as(drill.err()).isZero();
    assertThat(drill.out()).contains("recovery drill 'trpg' recovered", "stop-writers", "restore-database",
        "check-users").doesNotContain("start-writers", "approve ");
    assertThat(drill.err()).contains("the drill skips step approve", "the drill skips step start-writers");
    assertThat(Files.readString(hooks)).isEqualTo("drill-stop\n");
    assertThat(users(staging)).isEqualTo(usersBefore);
    try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
      s.execute("SELECT * FROM written_after_backup"); // the live database was not touched
    }
    assertThat(CliProcess.run("audit", "--repo", repo).out()).contains("recover-drill");

    Path alice = dev.savepoint.testkit.SshKeys.create(tmp, "alice");
    Path approvers = Files.writeString(tmp.resolve("allowed_signers"),
        dev.savepoint.testkit.SshKeys.allowedSigner("alice", alice));
    CliProcess.Result dry = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(), "--dry-run", "--approvers",
        approvers.toString());
    assertThat(dry.out()).as(dry.err()).containsPattern("restore-database +planned .*\\(took \\d+ s in the drill of ");

    Path unsafe = Files.writeString(tmp.resolve("unsafe.yaml"), """
        name: trpg
        repository: %s
        steps:
          - name: restore-database
            restore: {plan: db, to: "%s"}
        """.formatted(repo, pg.url(db)));
    CliProcess.Result refused = CliProcess.run("recover", "--insecure-unsigned", "--config", unsafe.toString(), "--drill");
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.err()).contains("step(s) [restore-database] change something and have no 'drill:' entry");
  }

  /**
   * A recovery killed with SIGKILL mid-step (an SSH drop, an OOM kill) leaves a report that says what it did and what
   * was running; --resume goes on from the step it was in, without redoing the finished ones.
   */
  @Test
  void aRecoveryKilledMidStepResumesFromThatStep() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("killed-repo"));
    Path log = tmp.resolve("steps.log");
    Path released = tmp.resolve("released");
    Path file = Files.writeString(tmp.resolve("killed.yaml"), """
        name: killed
        repository: file:%1$s
        steps:
          - name: stop-writers
            command: [sh, -c, "echo stop >> %2$s"]
          - name: long-restore
            command: [sh, -c, "test -f %3$s || sleep 120; echo restore >> %2$s"]
          - name: start-writers
            command: [sh, -c, "echo start >> %2$s"]
        """.formatted(repo, log, released));
    Process first = CliProcess.builder("256m", "recover", "--insecure-unsigned", "--config", file.toString())
        .redirectErrorStream(true).redirectOutput(tmp.resolve("first.out").toFile()).start();
    Path reports = repo.resolve("_savepoint/recoveries");
    String id = null;
    java.time.Instant deadline = java.time.Instant.now().plusSeconds(60);
    while (id == null && java.time.Instant.now().isBefore(deadline)) {
      if (Files.isDirectory(reports)) {
        try (var files = Files.list(reports)) {
          id = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json")).findFirst()
              .map(n -> n.substring(0, n.length() - 5)).orElse(null);
        }
      }
      if (id != null && !Files.readString(reports.resolve(id + ".json")).contains("\"running\"")) {
        id = null;
      }
      Thread.sleep(100);
    }
    assertThat(id).as(Files.readString(tmp.resolve("first.out"))).isNotNull();
    while (!Files.readString(reports.resolve(id + ".json")).matches("(?s).*long-restore\"[^}]*\"running\".*")
        && java.time.Instant.now().isBefore(deadline)) {
      Thread.sleep(100);
    }
    first.destroyForcibly(); // SIGKILL: no shutdown hook runs
    assertThat(first.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    JsonNode killed = new ObjectMapper().readTree(reports.resolve(id + ".json").toFile());
    assertThat(killed.get("outcome").asText()).isEqualTo("running");
    assertThat(killed.get("finishedAt").isNull()).as("a running report has no end").isTrue();
    // After a dropped session the operator finds the report to resume without looking into the repository.
    CliProcess.Result listed = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(), "--list");
    assertThat(listed.exit()).as(listed.err()).isZero();
    assertThat(listed.out()).contains(id, "running, in step long-restore");
    assertThat(Files.readString(tmp.resolve("first.out"))).as("the id on screen from the start").contains(id);

    // The report holds the point in time and each step as it ran: a resume to another time, or of a file whose done
    // step was edited, is refused.
    CliProcess.Result otherTime = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(),
        "--resume", id, "--at", "2026-01-01T00:00:00Z");
    assertThat(otherTime.exit()).as(otherTime.err()).isEqualTo(Main.USAGE);
    assertThat(otherTime.err()).contains("resume it with the same --at");
    String asRun = Files.readString(file);
    Files.writeString(file, asRun.replace("echo stop", "echo stopped"));
    CliProcess.Result edited = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(),
        "--resume", id);
    assertThat(edited.exit()).as(edited.err()).isEqualTo(Main.USAGE);
    assertThat(edited.err()).contains("step stop-writers", "defines it otherwise");
    Files.writeString(file, asRun);

    Files.writeString(released, "");
    CliProcess.Result resumed = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(),
        "--resume", id);
    assertThat(resumed.exit()).as(resumed.err() + resumed.out()).isZero();
    assertThat(Files.readAllLines(log)).containsExactly("stop", "restore", "start");
    assertThat(resumed.out()).contains("stop-writers", "skipped");
    CliProcess.Result again = CliProcess.run("recover", "--insecure-unsigned", "--config", file.toString(),
        "--resume", id);
    assertThat(again.err()).contains("nothing to resume");
  }

  /** SIGTERM (or Ctrl-C, or the SIGHUP of a dropped SSH session) mid-step: the report says interrupted, and so does the terminal. */
  @Test
  void aTerminatedRecoveryIsMarkedInterruptedAndSaysHowToResume() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("terminated-repo"));
    Path file = Files.writeString(tmp.resolve("terminated.yaml"), """
        name: terminated
        repository: file:%s
        steps:
          - name: stop-writers
            command: [sh, -c, "true"]
          - name: long-restore
            command: [sh, -c, "sleep 120"]
            stateIfFailed: writers are stopped
        """.formatted(repo));
    Path out = tmp.resolve("terminated.out");
    Process run = CliProcess.builder("256m", "recover", "--insecure-unsigned", "--config", file.toString())
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    Path reports = repo.resolve("_savepoint/recoveries");
    java.time.Instant deadline = java.time.Instant.now().plusSeconds(60);
    Path report = null;
    while (java.time.Instant.now().isBefore(deadline)) {
      if (Files.isDirectory(reports)) {
        try (var files = Files.list(reports)) {
          report = files.filter(p -> p.toString().endsWith(".json")).findFirst().orElse(null);
        }
      }
      if (report != null && Files.readString(report).matches("(?s).*long-restore\"[^}]*\"running\".*")) {
        break;
      }
      Thread.sleep(100);
    }
    assertThat(report).as(Files.readString(out)).isNotNull();
    run.destroy(); // SIGTERM
    assertThat(run.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    String id = report.getFileName().toString().replace(".json", "");
    JsonNode written = new ObjectMapper().readTree(report.toFile());
    assertThat(written.get("outcome").asText()).isEqualTo("interrupted");
    assertThat(written.get("failedStep").asText()).isEqualTo("long-restore");
    assertThat(written.get("stateAfterFailure").asText()).isEqualTo("writers are stopped");
    assertThat(Files.readString(out)).contains("interrupted; resume with: savepoint recover --config " + file
        + " --resume " + id, "--insecure-unsigned");
  }
}
