package dev.savepoint.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A protocol double of Supabase's Management API v1 (not Supabase): one project with a PITR window, the
 * {@code restore-pitr} endpoint and the project's status, which after a restore is {@code RESTORING} for a few
 * polls and then {@code ACTIVE_HEALTHY} (or {@code RESTORE_FAILED}, see {@link #failRestores}). It keeps no data.
 */
public final class SupabaseApiDouble extends JsonApiDouble {
  private final String ref;
  private final boolean pitrEnabled;
  private final Instant earliest;
  private final Instant latest;
  private int restoringPolls;

  public SupabaseApiDouble(String token, String ref, boolean pitrEnabled, Instant earliest, Instant latest)
      throws IOException {
    super("", token);
    this.ref = ref;
    this.pitrEnabled = pitrEnabled;
    this.earliest = earliest;
    this.latest = latest;
  }

  @Override
  protected Answer answer(String method, String path, @Nullable JsonNode body) {
    String project = "/v1/projects/" + ref;
    if (!path.startsWith(project)) {
      return notFound("project");
    }
    String rest = path.substring(project.length());
    if (method.equals("GET") && rest.isEmpty()) {
      String status = restoringPolls > 0 ? "RESTORING" : failRestores && !restores.isEmpty() ? "RESTORE_FAILED"
          : "ACTIVE_HEALTHY";
      restoringPolls = Math.max(0, restoringPolls - 1);
      return new Answer(200, Map.of("id", ref, "name", "trpg", "region", "ap-northeast-1", "status", status));
    }
    if (method.equals("GET") && rest.equals("/database/backups")) {
      return new Answer(200, Map.of("region", "ap-northeast-1", "walg_enabled", true, "pitr_enabled", pitrEnabled,
          "backups", List.of(), "physical_backup_data", Map.of("earliest_physical_backup_date_unix",
              earliest.getEpochSecond(), "latest_physical_backup_date_unix", latest.getEpochSecond())));
    }
    if (method.equals("POST") && rest.equals("/database/backups/restore-pitr")) {
      if (body == null || !body.path("recovery_time_target_unix").canConvertToLong()) {
        return new Answer(400, Map.of("message", "recovery_time_target_unix is required"));
      }
      restores.add(body);
      restoringPolls = 2;
      return new Answer(201, Map.of());
    }
    return notFound(path);
  }
}
