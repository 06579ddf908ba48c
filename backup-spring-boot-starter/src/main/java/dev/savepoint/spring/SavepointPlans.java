package dev.savepoint.spring;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.operations.Retention;
import dev.savepoint.postgres.pitr.WalStreamer;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/**
 * The plans — configured under savepoint.plans and the application's own {@link BackupPlan} beans — by name (run one
 * with its retention: {@code plans.run("trpg-tier1")}), and the WAL streamers of point-in-time plans.
 */
public final class SavepointPlans {
  private final Map<String, BackupPlan> plans;
  private final Map<String, Retention> retention;
  private final Map<String, WalStreamer> streamers;
  private final SavepointProperties properties;

  SavepointPlans(Map<String, BackupPlan> plans, Map<String, Retention> retention, Map<String, WalStreamer> streamers,
      SavepointProperties properties) {
    this.plans = Map.copyOf(plans);
    this.retention = Map.copyOf(retention);
    this.streamers = Map.copyOf(streamers);
    this.properties = properties;
  }

  /**
   * One backup of plan {@code name} (scheduled or on demand), then its retention (savepoint.plans.NAME.retention).
   * A failed prune is logged, never thrown: the backup is done.
   */
  public BackupPlan.BackupResult run(String name) throws IOException {
    BackupPlan plan = get(name).orElseThrow(() -> new IllegalArgumentException("no plan '" + name + "'"));
    BackupPlan.BackupResult result = plan.run();
    Retention rules = retention.get(name);
    if (rules != null) {
      try {
        for (Retention.Verdict v : plan.repository().prune(name, rules, false, java.time.Duration.ofHours(1))) {
          if (!v.keep()) {
            LOG.info("retention of plan '{}' ({}) deleted backup {}", name, rules, v.backup().id());
          }
        }
      } catch (IOException | RuntimeException e) {
        LOG.warn("pruning plan '{}' failed: {}", name, e.getMessage());
      }
    }
    return result;
  }

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SavepointPlans.class);

  /** The WAL streamers (savepoint.wal-streams), by plan name; they run while the application runs. */
  public Map<String, WalStreamer> walStreamers() {
    return streamers;
  }

  public Optional<BackupPlan> get(String name) {
    return Optional.ofNullable(plans.get(name));
  }

  public Map<String, BackupPlan> all() {
    return plans;
  }

  SavepointProperties properties() {
    return properties;
  }
}
