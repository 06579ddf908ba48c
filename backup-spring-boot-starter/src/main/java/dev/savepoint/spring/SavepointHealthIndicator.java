package dev.savepoint.spring;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Event;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RpoMonitor;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * Per plan: the newest verified backup and its age; DOWN when a plan with an RPO has no backup younger than it,
 * or when the repository cannot be read — naming the plans. Never shows secrets.
 */
public final class SavepointHealthIndicator implements HealthIndicator {
  private final SavepointPlans plans;
  private final Repository repository;

  SavepointHealthIndicator(SavepointPlans plans, Repository repository) {
    this.plans = plans;
    this.repository = repository;
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
        Optional<Manifest> newest = repository.newest(plan.name());
        row.put("newestBackup", newest.map(Manifest::id).orElse(null));
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
    return (down ? Health.down() : Health.up()).withDetail("repository", repository.describe())
        .withDetail("plans", details).build();
  }
}
