package dev.savepoint.spring;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.postgres.pitr.WalStreamer;
import java.util.Map;
import java.util.Optional;

/**
 * The configured plans, by name — run one yourself with {@code plans.get("trpg-tier1").orElseThrow().run()} — and
 * the WAL streamers of point-in-time plans.
 */
public final class SavepointPlans {
  private final Map<String, BackupPlan> plans;
  private final Map<String, WalStreamer> streamers;
  private final SavepointProperties properties;

  SavepointPlans(Map<String, BackupPlan> plans, Map<String, WalStreamer> streamers, SavepointProperties properties) {
    this.plans = Map.copyOf(plans);
    this.streamers = Map.copyOf(streamers);
    this.properties = properties;
  }

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
