package dev.savepoint.providers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.savepoint.core.Secrets;
import dev.savepoint.providers.internal.ProviderApi;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Supabase point-in-time restore, in place and with downtime: the window from
 * {@code GET /v1/projects/{ref}/database/backups} ({@code pitr_enabled}, the earliest and latest physical backup
 * times), then {@code POST /v1/projects/{ref}/database/backups/restore-pitr} with {@code recovery_time_target_unix}
 * (whole seconds), then {@code GET /v1/projects/{ref}} until the project has left and come back to
 * {@code ACTIVE_HEALTHY} (Supabase returns no operation to follow).
 */
public final class SupabasePitr implements ManagedPitr {
  /** The secret name of the Supabase access token. */
  public static final String TOKEN = "supabase.access-token";
  public static final URI API = URI.create("https://api.supabase.com");
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SupabasePitr.class);
  private static final String HEALTHY = "ACTIVE_HEALTHY";
  private static final Set<String> FAILED = Set.of("RESTORE_FAILED", "INIT_FAILED", "REMOVED", "PAUSE_FAILED");

  private final String ref;
  private final ProviderApi api;

  private SupabasePitr(Builder b) {
    this.ref = b.ref;
    this.api = new ProviderApi("Supabase", b.api, b.secrets, TOKEN, b.pause);
  }

  public static Builder builder(String projectRef) {
    return new Builder(projectRef);
  }

  @Override
  public String describe() {
    return "supabase project " + ref;
  }

  @Override
  public Window window() throws IOException, InterruptedException {
    JsonNode backups = api.get("/v1/projects/" + ref + "/database/backups", "project " + ref,
        Instant.now().plus(Duration.ofMinutes(2)));
    if (!backups.path("pitr_enabled").asBoolean(false)) {
      throw new ProviderException("point-in-time recovery is not enabled for Supabase project " + ref
          + " (the PITR add-on); nothing was changed", 0);
    }
    JsonNode data = backups.path("physical_backup_data");
    if (!data.path("earliest_physical_backup_date_unix").canConvertToLong()
        || !data.path("latest_physical_backup_date_unix").canConvertToLong()) {
      throw new ProviderException("Supabase did not say which times project " + ref + " can be restored to", 0);
    }
    return new Window(Instant.ofEpochSecond(data.path("earliest_physical_backup_date_unix").asLong()),
        Instant.ofEpochSecond(data.path("latest_physical_backup_date_unix").asLong()));
  }

  @Override
  public Map<String, Object> restore(Instant at, Duration timeout) throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    Instant target = Instant.ofEpochSecond(at.getEpochSecond());
    Window window = window();
    if (!window.contains(target)) {
      throw new ProviderException("cannot restore " + describe() + " to " + at + ": outside Supabase's window ("
          + window + "); nothing was changed", 0);
    }
    LOG.info("asking Supabase to restore {} to {} (in place; the project is down until it is ACTIVE_HEALTHY again)",
        describe(), target);
    api.post("/v1/projects/" + ref + "/database/backups/restore-pitr",
        Map.of("recovery_time_target_unix", target.getEpochSecond()), "project " + ref, deadline);
    boolean left = false;
    String status = null;
    while (true) {
      String now = api.get("/v1/projects/" + ref, "project " + ref, deadline).path("status").asText();
      if (!now.equals(status)) {
        LOG.info("Supabase project {}: {}", ref, now);
      }
      status = now;
      if (FAILED.contains(status)) {
        throw new ProviderException("Supabase project " + ref + " is " + status + " after the restore to " + target
            + ": see the Supabase dashboard", 0);
      }
      left |= !status.equals(HEALTHY);
      if (left && status.equals(HEALTHY)) {
        break;
      }
      if (Instant.now().plus(api.pause()).isAfter(deadline)) {
        throw new ProviderException("Supabase project " + ref + " is " + status + " at the step's timeout"
            + (left ? "" : " and never showed the restore starting") + "; the restore may still be running: check the "
            + "Supabase dashboard", 0);
      }
      Thread.sleep(api.pause().toMillis());
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("provider", "supabase");
    details.put("project", ref);
    details.put("restoredTo", target.toString());
    return details;
  }

  /** Options of a {@link SupabasePitr}. */
  public static final class Builder {
    private final String ref;
    private URI api = API;
    private Secrets secrets = Secrets.fromEnvironment(Map.of(TOKEN, "SUPABASE_ACCESS_TOKEN"));
    private Duration pause = Duration.ofSeconds(5);

    private Builder(String ref) {
      this.ref = ProviderApi.requireId(ref, "project ref");
    }

    /** Where the access token comes from (secret {@link #TOKEN}); default: SUPABASE_ACCESS_TOKEN. */
    public Builder token(Secrets secrets) {
      this.secrets = Objects.requireNonNull(secrets);
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

    public SupabasePitr build() {
      return new SupabasePitr(this);
    }
  }
}
