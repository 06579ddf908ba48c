package dev.savepoint.providers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.savepoint.core.Secrets;
import dev.savepoint.providers.internal.ProviderApi;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Neon branch restore: {@code POST /projects/{project}/branches/{branch}/restore} with {@code source_branch_id},
 * {@code source_timestamp} and {@code preserve_under_name} (the damaged state is kept as a branch of that name for
 * the post-mortem), then polling {@code GET /projects/{project}/operations/{id}} until every operation has
 * finished. The window is the project's history retention ({@code history_retention_seconds}) up to now.
 *
 * <pre>{@code
 * ManagedPitr neon = NeonPitr.builder("proud-pine-123456", "br-main-a1b2c3")
 *     .token(Secrets.fromEnvironment(Map.of(NeonPitr.TOKEN, "NEON_API_KEY"))).build();
 * neon.restore(Instant.parse("2026-11-29T14:30:00Z"), Duration.ofMinutes(30));
 * }</pre>
 */
public final class NeonPitr implements ManagedPitr {
  /** The secret name of the Neon API key. */
  public static final String TOKEN = "neon.api-key";
  public static final URI API = URI.create("https://console.neon.tech/api/v2");
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NeonPitr.class);
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
      .withZone(ZoneOffset.UTC);

  private final String project;
  private final String branch;
  private final String sourceBranch;
  private final @Nullable String preserveUnderName;
  private final ProviderApi api;

  private NeonPitr(Builder b) {
    this.project = b.project;
    this.branch = b.branch;
    this.sourceBranch = b.sourceBranch == null ? b.branch : b.sourceBranch;
    this.preserveUnderName = b.preserveUnderName;
    this.api = new ProviderApi("Neon", b.api, b.secrets, TOKEN, b.pause);
  }

  public static Builder builder(String project, String branch) {
    return new Builder(project, branch);
  }

  @Override
  public String describe() {
    return "neon project " + project + " branch " + branch
        + (sourceBranch.equals(branch) ? "" : " (from branch " + sourceBranch + ")");
  }

  @Override
  public Window window() throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
    JsonNode p = api.get("/projects/" + project, "project " + project, deadline).path("project");
    api.get("/projects/" + project + "/branches/" + branch, "branch " + branch + " in project " + project, deadline);
    long retention = p.path("history_retention_seconds").asLong(-1);
    if (retention < 0) {
      throw new ProviderException("Neon did not say how much history project " + project + " keeps", 0);
    }
    Instant now = Instant.now();
    return new Window(now.minusSeconds(retention), now);
  }

  @Override
  public Map<String, Object> restore(Instant at, Duration timeout) throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    Window window = window();
    if (!window.contains(at)) {
      throw new ProviderException("cannot restore " + describe() + " to " + at + ": outside Neon's window ("
          + window + ", the project's history retention); nothing was changed", 0);
    }
    String preserved = preserveUnderName != null ? preserveUnderName
        : branch + "-before-restore-" + STAMP.format(Instant.now());
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("source_branch_id", sourceBranch);
    body.put("source_timestamp", at.toString());
    body.put("preserve_under_name", preserved);
    LOG.info("asking Neon to restore {} to {} (the current state is kept as branch {})", describe(), at, preserved);
    JsonNode answer = api.post("/projects/" + project + "/branches/" + branch + "/restore", body,
        "branch " + branch + " in project " + project, deadline);
    List<String> operations = new ArrayList<>();
    for (JsonNode op : answer.path("operations")) {
      operations.add(op.path("id").asText());
    }
    for (String id : operations) {
      await(id, deadline);
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("provider", "neon");
    details.put("project", project);
    details.put("branch", branch);
    details.put("restoredTo", at.toString());
    details.put("preservedAs", preserved);
    details.put("operations", operations);
    return details;
  }

  private void await(String operation, Instant deadline) throws IOException, InterruptedException {
    String last = null;
    while (true) {
      JsonNode op = api.get("/projects/" + project + "/operations/" + operation, "operation " + operation, deadline)
          .path("operation");
      String status = op.path("status").asText();
      if (!status.equals(last)) {
        LOG.info("Neon operation {}: {}", operation, status);
        last = status;
      }
      switch (status) {
        case "finished", "skipped" -> {
          return;
        }
        case "failed", "cancelling", "cancelled", "error" -> throw new ProviderException("Neon operation " + operation
            + " (" + op.path("action").asText("restore") + ") of " + describe() + " ended " + status
            + (op.hasNonNull("error") ? ": " + op.path("error").asText() : ""), 0);
        default -> {
          if (Instant.now().plus(api.pause()).isAfter(deadline)) {
            throw new ProviderException("Neon operation " + operation + " of " + describe() + " is still " + status
                + " at the step's timeout; the restore may still finish: check the Neon console", 0);
          }
          Thread.sleep(api.pause().toMillis());
        }
      }
    }
  }

  /** Options of a {@link NeonPitr}. */
  public static final class Builder {
    private final String project;
    private final String branch;
    private @Nullable String sourceBranch;
    private @Nullable String preserveUnderName;
    private URI api = API;
    private Secrets secrets = Secrets.fromEnvironment(Map.of(TOKEN, "NEON_API_KEY"));
    private Duration pause = Duration.ofSeconds(5);

    private Builder(String project, String branch) {
      this.project = ProviderApi.requireId(project, "project");
      this.branch = ProviderApi.requireId(branch, "branch");
    }

    /** Where the API key comes from (secret {@link #TOKEN}); default: the environment variable NEON_API_KEY. */
    public Builder token(Secrets secrets) {
      this.secrets = Objects.requireNonNull(secrets);
      return this;
    }

    /** The branch whose history is restored from; default: the branch itself (restore to its own past). */
    public Builder sourceBranch(String id) {
      this.sourceBranch = ProviderApi.requireId(id, "source branch");
      return this;
    }

    /** The name the damaged state is kept under; default {@code <branch>-before-restore-<time>}. */
    public Builder preserveUnderName(String name) {
      this.preserveUnderName = name;
      return this;
    }

    /** The API's base, default {@link #API}. */
    public Builder api(URI base) {
      this.api = Objects.requireNonNull(base);
      return this;
    }

    /** The first pause between polls and retries (doubling for retries); default 5 s. */
    public Builder pollEvery(Duration pause) {
      this.pause = Objects.requireNonNull(pause);
      return this;
    }

    public NeonPitr build() {
      return new NeonPitr(this);
    }
  }
}
