package dev.savepoint.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A protocol double of Neon's API v2 (not Neon): one project with one branch and a history retention, the branch
 * restore endpoint and operation polling. A restore answers one operation that reports {@code running} for a few
 * polls and then {@code finished} (or {@code failed}, see {@link #failRestores}). It keeps no data: tests check
 * what was asked ({@link #restores()}).
 */
public final class NeonApiDouble extends JsonApiDouble {
  private final String project;
  private final String branch;
  private final long retentionSeconds;
  private final Map<String, Integer> pollsLeft = new HashMap<>();

  public NeonApiDouble(String token, String project, String branch, long retentionSeconds) throws IOException {
    super("/api/v2", token);
    this.project = project;
    this.branch = branch;
    this.retentionSeconds = retentionSeconds;
  }

  @Override
  protected Answer answer(String method, String path, @Nullable JsonNode body) {
    String[] p = path.split("/");
    // "", "projects", id, ...
    if (p.length < 3 || !p[1].equals("projects") || !p[2].equals(project)) {
      return notFound("project");
    }
    if (method.equals("GET") && p.length == 3) {
      return new Answer(200, Map.of("project", Map.of("id", project, "history_retention_seconds", retentionSeconds)));
    }
    if (p.length >= 5 && p[3].equals("branches")) {
      if (!p[4].equals(branch)) {
        return notFound("branch");
      }
      if (method.equals("GET") && p.length == 5) {
        return new Answer(200, Map.of("branch", Map.of("id", branch, "name", "main")));
      }
      if (method.equals("POST") && p.length == 6 && p[5].equals("restore")) {
        if (body == null || !body.hasNonNull("source_branch_id")) {
          return new Answer(400, Map.of("message", "source_branch_id is required"));
        }
        restores.add(body);
        String op = "op-" + restores.size();
        pollsLeft.put(op, 2);
        return new Answer(200, Map.of("branch", Map.of("id", branch), "operations",
            List.of(Map.of("id", op, "action", "apply_config", "status", "running"))));
      }
    }
    if (method.equals("GET") && p.length == 5 && p[3].equals("operations") && pollsLeft.containsKey(p[4])) {
      int left = pollsLeft.merge(p[4], -1, Integer::sum);
      String status = left >= 0 ? "running" : failRestores ? "failed" : "finished";
      return new Answer(200, Map.of("operation", failRestores && left < 0
          ? Map.of("id", p[4], "action", "apply_config", "status", status, "error", "compute failed to start")
          : Map.of("id", p[4], "action", "apply_config", "status", status)));
    }
    return notFound(path);
  }
}
