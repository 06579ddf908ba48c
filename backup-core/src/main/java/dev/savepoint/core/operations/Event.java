package dev.savepoint.core.operations;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Something operators want to hear about. {@code details} hold sizes, durations and ids, never secrets.
 *
 * @param backupId the backup concerned, or null (e.g. a failed backup has none)
 */
public record Event(Type type, String plan, @Nullable String backupId, Instant time, String message,
    Map<String, Object> details) {

  public enum Type {
    BACKUP_SUCCEEDED, BACKUP_FAILED, RPO_BREACHED, DRILL_PASSED, DRILL_FAILED,
    /** A whole-platform recovery ({@code RecoveryPlan}) began, ended with everything recovered, or stopped. */
    RECOVERY_STARTED, RECOVERY_FINISHED, RECOVERY_FAILED
  }

  public Event {
    details = details == null ? Map.of() : Map.copyOf(details);
  }

  public boolean isProblem() {
    return type == Type.BACKUP_FAILED || type == Type.RPO_BREACHED || type == Type.DRILL_FAILED
        || type == Type.RECOVERY_FAILED;
  }
}
