package dev.savepoint.spring;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.operations.Event;
import dev.savepoint.core.operations.RpoMonitor;
import dev.savepoint.postgres.RestoreDrill;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * Per plan: the newest verified backup and its age, and the last drill among the newest backups; {@link #AT_RISK}
 * when a plan with an RPO has no backup younger than it, the repository cannot be read or a WAL stream lags or
 * stopped — naming the plans. Never shows secrets.
 *
 * <p>A backup problem is no reason to restart or unroute the application: {@code BACKUPS_AT_RISK} is not among the
 * statuses {@code /actuator/health} aggregates, so it stays UP (and Kubernetes probes with it), while the
 * {@code savepoint} health group ({@code /actuator/health/savepoint}, added by the starter) answers 503.
 */
public final class SavepointHealthIndicator implements HealthIndicator {
  /** The status of a backup problem: reported in the savepoint group (503 there), ignored by the application's. */
  public static final org.springframework.boot.actuate.health.Status AT_RISK =
      new org.springframework.boot.actuate.health.Status("BACKUPS_AT_RISK");

  private final SavepointPlans plans;
  private final Repository repository;
  private final Instant started = Instant.now();

  SavepointHealthIndicator(SavepointPlans plans, Repository repository) {
    this.plans = plans;
    this.repository = repository;
  }

  /** How many of a plan's newest backups are searched for its last drill (a drill may lag the newest backup). */
  static final int DRILLS_LOOKED_BACK = 5;

  /** The most recent drill of the newest backup that has one, as "passed|FAILED at (backup id)". */
  private static Optional<String> lastDrill(dev.savepoint.core.Repository repository, List<Manifest> newestFirst)
      throws java.io.IOException {
    for (Manifest m : newestFirst) { // stops at the first drilled backup: usually one listing per probe
      Optional<RestoreDrill.Report> drill = RestoreDrill.latest(repository, List.of(m));
      if (drill.isPresent()) {
        RestoreDrill.Report d = drill.get();
        return Optional.of((d.passed() ? "passed " : "FAILED ") + d.startedAt() + " (backup " + m.id() + ")");
      }
    }
    return Optional.empty();
  }

  @Override
  public Health health() {
    Instant now = Instant.now();
    Map<String, Object> details = new LinkedHashMap<>();
    boolean down = false;
    for (Map.Entry<String, BackupPlan> e : plans.all().entrySet()) {
      BackupPlan plan = e.getValue();
      Map<String, Object> row = new LinkedHashMap<>();
      try {
        dev.savepoint.core.Repository repository = plan.repository(); // an application's own plan may use its own
        List<Manifest> recent = repository.newest(plan.name(), DRILLS_LOOKED_BACK);
        Optional<Manifest> newest = recent.stream().findFirst();
        row.put("newestBackup", newest.map(Manifest::id).orElse(null));
        lastDrill(repository, recent).ifPresent(d -> row.put("lastDrill", d));
        newest.ifPresent(m -> row.put("ageSeconds", Duration.between(m.startedAt(), now).toSeconds()));
        if (plan.rpo() != null) {
          row.put("rpoSeconds", plan.rpo().toSeconds());
          Optional<Event> breach = RpoMonitor.check(repository, plan.name(), plan.rpo(), now);
          if (breach.isPresent()) {
            row.put("status", "RPO breached: " + breach.get().message());
            down = true;
          } else {
            row.put("status", "within RPO");
          }
        }
      } catch (Exception ex) {
        row.put("status", "repository unavailable: " + ex.getMessage());
        down = true;
      }
      details.put(e.getKey(), row);
    }
    Map<String, Object> streams = new LinkedHashMap<>();
    for (Map.Entry<String, dev.savepoint.postgres.pitr.WalStreamer> e : plans.walStreamers().entrySet()) {
      dev.savepoint.postgres.pitr.WalStreamer streamer = e.getValue();
      SavepointProperties.WalStream spec = plans.properties().getWalStreams().get(e.getKey());
      Duration maxAge = spec == null ? new SavepointProperties.WalStream().getMaxAge() : spec.getMaxAge();
      Map<String, Object> row = new LinkedHashMap<>();
      Instant durable = streamer.lastDurableAt();
      if (streamer.failure() != null) {
        row.put("status", "stopped: " + streamer.failure().getMessage());
        down = true;
      } else if (durable == null || Duration.between(durable, now).compareTo(maxAge) > 0) {
        row.put("status", durable == null ? "nothing durable yet" : "newest durable WAL older than " + maxAge);
        down |= durable != null || Duration.between(started, now).compareTo(maxAge) > 0;
      } else {
        row.put("status", "streaming");
      }
      row.put("durableLsn", dev.savepoint.postgres.pitr.WalSegment.lsn(streamer.durableLsn()));
      row.put("durableAt", durable == null ? null : durable.toString());
      streams.put(e.getKey(), row);
    }
    Health.Builder health = (down ? Health.status(AT_RISK) : Health.up()).withDetail("repository", repository.describe())
        .withDetail("plans", details);
    return (streams.isEmpty() ? health : health.withDetail("walStreams", streams)).build();
  }
}
