package dev.savepoint.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A real application: a web server, the actuator, a real PostgreSQL as its DataSource. The scheduled plan backs the
 * database up; health is UP with the plan's backup, metrics reach /actuator/prometheus; when the repository is
 * gone, health turns DOWN naming the plan. The canary passphrase shows up nowhere.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    classes = SavepointApplicationTest.App.class)
@ExtendWith(OutputCaptureExtension.class)
@org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability // tests disable export
class SavepointApplicationTest {
  static final String CANARY = "canary-passphrase-Zq8vR3kLw9XbT2mN";
  static final TestPostgres pg = TestPostgres.shared();
  static Path repo;
  static Path archive;
  static final List<String> notifications = new java.util.concurrent.CopyOnWriteArrayList<>();

  @SpringBootApplication
  static class App {}

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) throws Exception {
    String db = pg.createDatabase("spring_app");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    repo = Files.createTempDirectory("savepoint-spring-repo-");
    archive = Files.createTempDirectory("savepoint-spring-archive-");
    com.sun.net.httpserver.HttpServer hooks = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    hooks.createContext("/hooks", exchange -> {
      notifications.add(new String(exchange.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    hooks.start();
    registry.add("savepoint.notify.webhook", () -> "http://127.0.0.1:" + hooks.getAddress().getPort() + "/hooks");
    registry.add("savepoint.plans.trpg-tier1.copy-to", () -> "file:" + archive);
    registry.add("spring.datasource.url", () -> "jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/" + db);
    registry.add("spring.datasource.username", () -> "postgres");
    registry.add("savepoint.repository", () -> "file:" + repo);
    registry.add("savepoint.plans.trpg-tier1.tables", () -> "users,chat_messages,game_sessions");
    registry.add("savepoint.plans.trpg-tier1.cross-tier-references", () -> "game_sessions_campaign_id_fkey");
    registry.add("savepoint.plans.trpg-tier1.schedule", () -> "*/2 * * * * *"); // every 2 seconds
    registry.add("savepoint.plans.trpg-tier1.rpo", () -> "PT30S");
    registry.add("savepoint.plans.trpg-tier1.encryption-passphrase", () -> CANARY);
    registry.add("savepoint.plans.trpg-tier1.retention.keep-last", () -> "3");
    registry.add("savepoint.plans.trpg-tier1.drill.schedule", () -> "*/3 * * * * *");
    registry.add("savepoint.plans.trpg-tier1.drill.server", () -> pg.url("postgres"));
    registry.add("savepoint.wal-streams.trpg-cluster.flush-interval", () -> "PT0.5S");
    registry.add("savepoint.wal-streams.trpg-cluster.encryption-passphrase", () -> CANARY);
    registry.add("savepoint.wal-streams.trpg-cluster.slot", () -> "savepoint_spring_" + Long.toHexString(System.nanoTime()));
    registry.add("management.endpoints.web.exposure.include", () -> "health,prometheus,savepoint");
    registry.add("savepoint.endpoint.operations-enabled", () -> "true");
    registry.add("management.endpoint.health.show-details", () -> "always");
  }

  @LocalServerPort
  int port;

  @Autowired
  Repository repository;

  String get(String path, int expectedStatus) throws Exception {
    return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(), path, expectedStatus);
  }

  String send(HttpRequest request, String path, int expectedStatus) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(expectedStatus);
    return r.body();
  }

  @Test
  void scheduledBackupsHealthAndMetrics(CapturedOutput output) throws Exception {
    Instant deadline = Instant.now().plusSeconds(60);
    List<Manifest> backups = List.of();
    while (backups.isEmpty() && Instant.now().isBefore(deadline)) {
      Thread.sleep(250);
      backups = repository.list("trpg-tier1");
    }
    assertThat(backups).as(output.getAll()).isNotEmpty();
    Manifest backup = backups.get(0);
    assertThat(backup.artifacts()).allSatisfy(a -> assertThat(a.transforms()).extracting(t -> t.name())
        .containsExactly("zstd", "openpgp"));
    assertThat(dev.savepoint.postgres.PostgresFacts.of(backup).rowCounts()).containsEntry("\"public\".\"users\"", 100L);

    String health = get("/actuator/health", 200);
    assertThat(health).contains("\"status\":\"UP\"", "trpg-tier1", "within RPO");
    // The WAL streamer of the point-in-time plan runs with the application.
    Instant walDeadline = Instant.now().plusSeconds(60);
    while (!get("/actuator/health", 200).contains("\"trpg-cluster\":{\"status\":\"streaming\"")
        && Instant.now().isBefore(walDeadline)) {
      Thread.sleep(250);
    }
    health = get("/actuator/health", 200);
    assertThat(health).contains("\"walStreams\":{\"trpg-cluster\":{\"status\":\"streaming\"");
    String metrics = get("/actuator/prometheus", 200);
    assertThat(metrics).contains("savepoint_wal_durable_age_seconds{plan=\"trpg-cluster\"",
        "savepoint_wal_streamer_connected{plan=\"trpg-cluster\"} 1.0", "savepoint_wal_streamer_retries_total{plan=",
        "savepoint_wal_streamer_timeline{plan=\"trpg-cluster\"} 1.0", "savepoint_wal_durable_lsn_bytes{plan=");
    assertThat(metrics).contains("savepoint_backup_last_success_age_seconds{plan=\"trpg-tier1\"",
        "savepoint_backup_bytes_stored_bytes_total{plan=\"trpg-tier1\"");

    // The actuator endpoint: status, the status page, and a backup on demand (enabled here).
    String status = get("/actuator/savepoint", 200);
    assertThat(status).contains("\"trpg-tier1\":{", "newestBackup", "\"rpoSeconds\":30");
    String page = get("/actuator/savepoint/html", 200);
    assertThat(page).contains("Savepoint status", "id=\"plan-trpg-tier1\"");
    String posted = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/savepoint/trpg-tier1"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build(), "POST", 200);
    assertThat(posted).contains("\"plan\":\"trpg-tier1\"", "backupId");
    String postedId = posted.replaceFirst(".*\"backupId\":\"([^\"]+)\".*", "$1");
    assertThat(repository.list("trpg-tier1")).extracting(Manifest::id).contains(postedId);

    // Scheduled drills restore the newest backup into the scratch server; their result reaches the metrics.
    Instant drillDeadline = Instant.now().plusSeconds(60);
    String drilled = "";
    while (!drilled.contains("savepoint_drill_last_success{plan=\"trpg-tier1\"") && Instant.now().isBefore(drillDeadline)) {
      Thread.sleep(500);
      drilled = get("/actuator/prometheus", 200);
    }
    assertThat(drilled).as(output.getAll()).contains("savepoint_drill_last_success{plan=\"trpg-tier1\"");
    while (!output.getAll().contains("drill of plan 'trpg-tier1' passed") && Instant.now().isBefore(drillDeadline)) {
      Thread.sleep(100); // the event reaches the metrics a moment before the scheduler logs the outcome
    }
    assertThat(output.getAll()).contains("drill of plan 'trpg-tier1' passed");
    assertThat(notifications).as("savepoint.notify.webhook").anyMatch(n -> n.contains("BACKUP_SUCCEEDED"))
        .anyMatch(n -> n.contains("DRILL_PASSED")).noneMatch(n -> n.contains(CANARY));
    // Health shows the last drill among the plan's newest backups (drills lag a 2 s backup schedule).
    Instant lastDrillDeadline = Instant.now().plusSeconds(45);
    String drillHealth = get("/actuator/health", 200);
    while (!drillHealth.contains("\"lastDrill\":\"passed") && Instant.now().isBefore(lastDrillDeadline)) {
      Thread.sleep(300);
      drillHealth = get("/actuator/health", 200);
    }
    assertThat(drillHealth).containsPattern("\"lastDrill\":\"passed [^\"]+ \\(backup [0-9A-Za-z.-]+\\)\"");
    assertThat(new Repository(new dev.savepoint.core.store.FilesystemStore(archive)).list("trpg-tier1"))
        .as("copied to the archive (copy-to)").isNotEmpty();

    // Retention (keep-last 3) runs after every backup: scheduled every 2 s, the plan holds at most 3 backups, the
    // newest one a drill passed (last known good, kept whatever the rules say) and, for a moment, the one just written
    // before its retention runs.
    String newestBefore = repository.newest("trpg-tier1").orElseThrow().id();
    List<Integer> sizes = new java.util.ArrayList<>();
    Instant retentionDeadline = Instant.now().plusSeconds(6);
    while (Instant.now().isBefore(retentionDeadline)) {
      sizes.add(repository.list("trpg-tier1").size());
      Thread.sleep(250);
    }
    assertThat(repository.newest("trpg-tier1").orElseThrow().id()).as("backed up meanwhile").isNotEqualTo(newestBefore);
    assertThat(sizes).as("backups held while the schedule ran").allMatch(n -> n >= 1 && n <= 5)
        .anyMatch(n -> n <= 3);
    send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/savepoint/nope"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        "POST nope", 404);
    String drilledNow = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/savepoint/trpg-tier1"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"operation\":\"drill\"}"))
        .build(), "POST drill", 200);
    assertThat(drilledNow).contains("\"passed\":true");
    assertThat(get("/actuator/savepoint", 200)).contains("\"pointInTime\":{\"trpg-cluster\"");

    // The repository disappears (a failed mount): its backups are gone from view, and the savepoint group answers
    // 503 naming the plan whose RPO is now breached — while the application's own health (and its probes) stays UP.
    Path moved = Files.move(repo, repo.resolveSibling(repo.getFileName() + "-gone"));
    Files.writeString(repo, "not a directory");
    String down = get("/actuator/health/savepoint", 503);
    assertThat(down).contains("\"status\":\"BACKUPS_AT_RISK\"", "\"trpg-tier1\":{", "RPO breached");
    String application = get("/actuator/health", 200);
    assertThat(application).startsWith("{\"status\":\"UP\"").contains("\"savepoint\":{\"status\":\"BACKUPS_AT_RISK\"");

    for (String shown : List.of(health, metrics, status, page, down, application, output.getAll())) {
      assertThat(shown).doesNotContain(CANARY);
    }
    try (var files = Files.walk(moved)) {
      for (Path f : files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".json")).toList()) {
        assertThat(Files.readString(f)).as(f.toString()).doesNotContain(CANARY);
      }
    }
    Files.delete(repo);
    Files.move(moved, repo);
  }
}
