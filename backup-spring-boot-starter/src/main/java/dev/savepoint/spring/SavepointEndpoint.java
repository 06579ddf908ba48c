package dev.savepoint.spring;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.postgres.RestoreDrill;
import dev.savepoint.report.StatusPage;
import dev.savepoint.report.StatusReport;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;

/**
 * {@code /actuator/savepoint}: the plans, their newest backups and last drills (GET); the status page
 * ({@code GET /actuator/savepoint/html}); and, only with {@code savepoint.endpoint.operations-enabled=true}, a
 * backup of one plan now ({@code POST /actuator/savepoint/{plan}}). Expose it like any endpoint
 * ({@code management.endpoints.web.exposure.include=savepoint}) and secure it like the rest of the actuator.
 */
@Endpoint(id = "savepoint")
public class SavepointEndpoint {
  private final SavepointPlans plans;
  private final Repository repository;

  SavepointEndpoint(SavepointPlans plans, Repository repository) {
    this.plans = plans;
    this.repository = repository;
  }

  @ReadOperation
  public Map<String, Object> status() throws IOException {
    Instant now = Instant.now();
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("repository", repository.describe());
    Map<String, Object> rows = new LinkedHashMap<>();
    for (Map.Entry<String, BackupPlan> e : plans.all().entrySet()) {
      dev.savepoint.core.Repository planRepository = e.getValue().repository();
      List<Manifest> backups = planRepository.list(e.getKey());
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("backups", backups.size());
      row.put("storedBytes", backups.stream().mapToLong(Manifest::storedBytes).sum());
      if (!backups.isEmpty()) {
        Manifest newest = backups.get(backups.size() - 1);
        row.put("newestBackup", newest.id());
        row.put("newestAgeSeconds", Duration.between(newest.startedAt(), now).toSeconds());
        RestoreDrill.latest(planRepository, backups).ifPresent(d -> row.put("lastDrill", Map.of("at",
            d.startedAt().toString(), "passed", d.passed(), "restoreMillis", d.restoreMillis())));
      }
      if (e.getValue().rpo() != null) {
        row.put("rpoSeconds", e.getValue().rpo().toSeconds());
      }
      rows.put(e.getKey(), row);
    }
    result.put("plans", rows);
    Map<String, Object> windows = new LinkedHashMap<>();
    for (String plan : plans.walStreamers().keySet()) {
      try {
        dev.savepoint.postgres.pitr.PointInTimeRestore.Window w =
            new dev.savepoint.postgres.pitr.PointInTimeRestore(repository, plan).window();
        windows.put(plan, Map.of("recoverableFrom", w.from().toString(), "recoverableTo", w.to().toString()));
      } catch (IOException e) {
        windows.put(plan, Map.of("error", String.valueOf(e.getMessage())));
      }
    }
    if (!windows.isEmpty()) {
      result.put("pointInTime", windows);
    }
    return result;
  }

  /**
   * The status page ({@link StatusPage}) of the repository: each plan held against its own RPO (else one day) in its
   * own zone, a 1 h RTO target, the built-in price table.
   */
  @ReadOperation(produces = "text/html")
  public @Nullable String html(@Selector String page) throws IOException {
    if (!page.equals("html")) {
      return null; // 404
    }
    StatusReport.Options options = new StatusReport.Options();
    plans.all().forEach((name, plan) -> {
      SavepointProperties.Plan spec = plans.properties().getPlans().get(name);
      options.plan(name, new StatusReport.Cadence(plan.rpo(), null, null,
          spec == null ? null : java.time.ZoneId.of(spec.getZone())));
    });
    return StatusPage.render(StatusReport.of(repository, options, Instant.now()));
  }

  /**
   * {@code POST /actuator/savepoint/{plan}} backs the plan up now; with body {@code {"operation": "drill"}} it
   * drills the newest backup into the plan's drill server instead. 403 unless
   * {@code savepoint.endpoint.operations-enabled}.
   */
  @WriteOperation
  public WebEndpointResponse<Map<String, Object>> run(@Selector String plan,
      // Spring's own annotation: Spring Boot 3 reads it (not JSpecify's) to make the body's field optional.
      @org.springframework.lang.Nullable String operation) {
    if (!plans.properties().getEndpoint().isOperationsEnabled()) {
      return new WebEndpointResponse<>(Map.of("error", "operations through the endpoint are off: set "
          + "savepoint.endpoint.operations-enabled=true (and secure the actuator)"), 403);
    }
    BackupPlan chosen = plans.get(plan).orElse(null);
    if (chosen == null) {
      return new WebEndpointResponse<>(Map.of("error", "no plan '" + plan + "'; plans: " + plans.all().keySet()), 404);
    }
    try {
      return runNow(plan, chosen, operation);
    } catch (IOException | RuntimeException e) {
      // Typed JSON, not an opaque 500: what failed and why (messages carry no secrets).
      int status = e instanceof dev.savepoint.core.SourceException ? 502
          : e instanceof dev.savepoint.core.StoreException ? 503 : 500;
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("plan", plan);
      body.put("operation", "drill".equals(operation) ? "drill" : "backup");
      body.put("error", e.getClass().getSimpleName());
      body.put("message", String.valueOf(e.getMessage()));
      return new WebEndpointResponse<>(body, status);
    }
  }

  private WebEndpointResponse<Map<String, Object>> runNow(String plan, BackupPlan chosen, @Nullable String operation)
      throws IOException {
    if ("drill".equals(operation)) {
      SavepointProperties.Plan spec = plans.properties().getPlans().get(plan);
      if (spec == null || spec.getDrill().getServer() == null) {
        return new WebEndpointResponse<>(Map.of("error", "plan '" + plan + "' has no drill server "
            + "(savepoint.plans." + plan + ".drill.server)"), 400);
      }
      RestoreDrill.Report report = new RestoreDrill(chosen.repository(), plan,
          dev.savepoint.postgres.PostgresUrl.parse(spec.getDrill().getServer()), dev.savepoint.core.BackupSelector.latest(),
          chosen.repository().secrets(), chosen.notifier()).run();
      return new WebEndpointResponse<>(Map.of("plan", plan, "backupId", report.backupId(), "passed", report.passed(),
          "restoreMillis", report.restoreMillis(), "detail", report.detail()), report.passed() ? 200 : 500);
    }
    Manifest m = plans.run(plan).manifest();
    return new WebEndpointResponse<>(Map.of("plan", plan, "backupId", m.id(), "storedBytes", m.storedBytes(),
        "durationMillis", m.duration().toMillis()), 200);
  }
}
