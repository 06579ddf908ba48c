package dev.savepoint.spring;

import dev.savepoint.core.BackupPlan;
import java.util.Map;
import java.util.Optional;

/** The configured plans, by name: run one yourself with {@code plans.get("trpg-tier1").orElseThrow().run()}. */
public final class SavepointPlans {
  private final Map<String, BackupPlan> plans;
  private final SavepointProperties properties;

  SavepointPlans(Map<String, BackupPlan> plans, SavepointProperties properties) {
    this.plans = Map.copyOf(plans);
    this.properties = properties;
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
