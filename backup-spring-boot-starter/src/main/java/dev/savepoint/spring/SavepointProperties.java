package dev.savepoint.spring;

import dev.savepoint.postgres.PostgresSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code savepoint.*}: where backups go and which plans run when. Secrets (the encryption passphrase) belong in
 * the environment or a secret property source ({@code ${BACKUP_PASSPHRASE}}), never in a file; the starter never
 * logs or reports them.
 *
 * <pre>
 * savepoint:
 *   repository: file:/var/backups/savepoint
 *   plans:
 *     trpg-tier1:
 *       tables: [users, chat_messages, game_sessions]
 *       cross-tier-references: [game_sessions_campaign_id_fkey]
 *       format: parallel
 *       schedule: "0 * * * *"
 *       rpo: PT1H
 *       encryption-passphrase: ${BACKUP_PASSPHRASE}
 * </pre>
 */
@ConfigurationProperties(prefix = "savepoint", ignoreUnknownFields = false)
public class SavepointProperties {
  /** Whether the starter creates and schedules the plans. */
  private boolean enabled = true;

  /**
   * Where backups are stored: file:/path or s3://bucket/prefix?region=… (with dev.savepoint:backup-s3; credentials
   * from the AWS SDK's default chain); for GCS or anything else, define a Repository bean.
   */
  private @Nullable String repository;

  /**
   * Whether the application's start fails when the repository cannot be read at start-up. By default the problem
   * is logged and reported by the health indicator, and the application starts.
   */
  private boolean failOnStartupError;

  /** How long running backups may go on when the application stops before they are interrupted. */
  private Duration shutdownGrace = Duration.ofMinutes(1);

  /**
   * HMAC-SHA256 key (at least 32 bytes, e.g. ${MANIFEST_KEY}) that signs manifests, WAL records and drill reports and
   * without which they are refused. Empty: a plan with an encryption passphrase signs with a key derived from it.
   */
  private @Nullable String manifestHmacKey;

  /**
   * Accept plans and WAL streams that nothing authenticates (no encryption passphrase, no manifest-hmac-key):
   * anyone who can write the repository can then plant backups that drills trust. Off: such a plan fails the start.
   */
  private boolean insecureUnsigned;

  public @Nullable String getManifestHmacKey() {
    return manifestHmacKey;
  }

  public void setManifestHmacKey(@Nullable String manifestHmacKey) {
    this.manifestHmacKey = manifestHmacKey;
  }

  public boolean isInsecureUnsigned() {
    return insecureUnsigned;
  }

  public void setInsecureUnsigned(boolean insecureUnsigned) {
    this.insecureUnsigned = insecureUnsigned;
  }

  /** The plans, by name (a plan name is also where its backups live in the repository). */
  private Map<String, Plan> plans = new LinkedHashMap<>();

  /**
   * Continuous WAL archiving for point-in-time recovery, by plan name (base backups: {@code savepoint basebackup}).
   * Each runs a {@code WalStreamer} on a physical replication slot while the application runs — on every
   * replica that configures it, so give it to one (a replication slot takes one stream).
   */
  private Map<String, WalStream> walStreams = new LinkedHashMap<>();

  /** One WAL streamer. */
  public static class WalStream {
    /** The server: postgresql://user@host:port/db of a role with REPLICATION; empty: spring.datasource.* */
    private @Nullable String source;

    /** The physical replication slot (created when missing); default savepoint_<plan with _ for ->. */
    private @Nullable String slot;

    /** How often the segment being written is stored: the RPO. */
    private Duration flushInterval = Duration.ofSeconds(10);

    /** The newest durable WAL older than this puts backups at risk in the health indicator. */
    private Duration maxAge = Duration.ofMinutes(15);

    /** OpenPGP passphrase for the WAL, as for plans: ${BACKUP_PASSPHRASE}. */
    private @Nullable String encryptionPassphrase;

    public @Nullable String getSource() {
      return source;
    }

    public void setSource(@Nullable String source) {
      this.source = source;
    }

    public @Nullable String getSlot() {
      return slot;
    }

    public void setSlot(@Nullable String slot) {
      this.slot = slot;
    }

    public Duration getFlushInterval() {
      return flushInterval;
    }

    public void setFlushInterval(Duration flushInterval) {
      this.flushInterval = flushInterval;
    }

    public Duration getMaxAge() {
      return maxAge;
    }

    public void setMaxAge(Duration maxAge) {
      this.maxAge = maxAge;
    }

    public @Nullable String getEncryptionPassphrase() {
      return encryptionPassphrase;
    }

    public void setEncryptionPassphrase(@Nullable String encryptionPassphrase) {
      this.encryptionPassphrase = encryptionPassphrase;
    }
  }

  public Map<String, WalStream> getWalStreams() {
    return walStreams;
  }

  public void setWalStreams(Map<String, WalStream> walStreams) {
    this.walStreams = walStreams;
  }

  /** The actuator endpoint {@code savepoint}. */
  private final EndpointOptions endpoint = new EndpointOptions();

  /** Where backup, drill and RPO events go, besides the metrics. */
  private final NotifyOptions notify = new NotifyOptions();

  /** Notification targets; give the URLs from the environment (${SLACK_WEBHOOK_URL}): they are secrets. */
  public static class NotifyOptions {
    /** A Slack incoming-webhook URL. */
    private @Nullable String slackWebhook;

    /** A URL that receives every event as JSON (POST). */
    private @Nullable String webhook;

    public @Nullable String getSlackWebhook() {
      return slackWebhook;
    }

    public void setSlackWebhook(@Nullable String slackWebhook) {
      this.slackWebhook = slackWebhook;
    }

    public @Nullable String getWebhook() {
      return webhook;
    }

    public void setWebhook(@Nullable String webhook) {
      this.webhook = webhook;
    }

    @Override
    public String toString() {
      return "NotifyOptions[slack=" + (slackWebhook != null) + ", webhook=" + (webhook != null) + "]";
    }
  }

  public NotifyOptions getNotify() {
    return notify;
  }

  /** Options of the actuator endpoint {@code savepoint}. */
  public static class EndpointOptions {
    /** Whether POST /actuator/savepoint/{plan} may start a backup (off: the endpoint only reads). */
    private boolean operationsEnabled;

    public boolean isOperationsEnabled() {
      return operationsEnabled;
    }

    public void setOperationsEnabled(boolean operationsEnabled) {
      this.operationsEnabled = operationsEnabled;
    }
  }

  public EndpointOptions getEndpoint() {
    return endpoint;
  }

  /** One backup plan of a PostgreSQL database. */
  public static class Plan {
    /**
     * What is backed up: a database, postgresql://user@host:port/db, or empty for the application's own
     * (spring.datasource.url, username and password); uploads in a bucket, s3://bucket/prefix?region=… (needs
     * backup-s3); a directory or file, file:/path; configuration from the environment, env:NAME,PREFIX_* (names or
     * prefixes; secret-looking values are withheld). Not set for a plan that is an application's own BackupPlan bean
     * of that name: then only its schedule, zone, retention and drill come from here.
     */
    private @Nullable String source;

    /**
     * With a PostgreSQL source: physical base backups of the whole cluster (pg_basebackup; the role needs REPLICATION)
     * for point-in-time restores with a savepoint.wal-streams entry of the same name, instead of logical dumps.
     */
    private boolean physical;

    public boolean isPhysical() {
      return physical;
    }

    public void setPhysical(boolean physical) {
      this.physical = physical;
    }

    /** A label such as tier1, kept in every manifest. */
    private @Nullable String tier;

    /** Tables of this plan (a tier); empty: the whole database. Partitions and children are included. */
    private List<String> tables = new ArrayList<>();

    /** Foreign keys from this tier's rows into another tier's tables, declared as crossing tiers. */
    private List<String> crossTierReferences = new ArrayList<>();

    /**
     * parallel (per-table COPY on several connections), plain (pg_dump SQL) or custom (pg_dump -Fc). Unset: parallel
     * where it applies (PostgreSQL 12+), else plain.
     */
    private PostgresSource.@Nullable Format format;

    /** Cron expression: 5 fields (minute hour day month weekday) or 6 with seconds first. Empty: not scheduled. */
    private @Nullable String schedule;

    /** Time zone of the schedule. */
    private String zone = "UTC";

    /** Recovery point objective: the health indicator reports BACKUPS_AT_RISK when the newest backup is older. */
    private @Nullable Duration rpo;

    /** Compression before encryption. */
    private Compression compression = Compression.ZSTD;

    /** OpenPGP passphrase (AES-256); give it from the environment: ${BACKUP_PASSPHRASE}. Empty: not encrypted. */
    private @Nullable String encryptionPassphrase;

    /** Retention, applied after each successful backup of the plan; a backup is kept if any rule keeps it. */
    private final RetentionOptions retention = new RetentionOptions();

    /** Archives every backup is copied to after it is verified (e.g. an S3 bucket in DEEP_ARCHIVE), as URIs. */
    private List<String> copyTo = new ArrayList<>();

    public List<String> getCopyTo() {
      return copyTo;
    }

    public void setCopyTo(List<String> copyTo) {
      this.copyTo = copyTo;
    }

    /** Restore drills of the plan's newest backup into a scratch server, on a schedule. */
    private final DrillOptions drill = new DrillOptions();

    public RetentionOptions getRetention() {
      return retention;
    }

    public DrillOptions getDrill() {
      return drill;
    }

    public @Nullable String getSource() {
      return source;
    }

    public void setSource(@Nullable String source) {
      this.source = source;
    }

    public @Nullable String getTier() {
      return tier;
    }

    public void setTier(@Nullable String tier) {
      this.tier = tier;
    }

    public List<String> getTables() {
      return tables;
    }

    public void setTables(List<String> tables) {
      this.tables = tables;
    }

    public List<String> getCrossTierReferences() {
      return crossTierReferences;
    }

    public void setCrossTierReferences(List<String> crossTierReferences) {
      this.crossTierReferences = crossTierReferences;
    }

    public PostgresSource.@Nullable Format getFormat() {
      return format;
    }

    public void setFormat(PostgresSource.@Nullable Format format) {
      this.format = format;
    }

    public @Nullable String getSchedule() {
      return schedule;
    }

    public void setSchedule(@Nullable String schedule) {
      this.schedule = schedule;
    }

    public String getZone() {
      return zone;
    }

    public void setZone(String zone) {
      this.zone = zone;
    }

    public @Nullable Duration getRpo() {
      return rpo;
    }

    public void setRpo(@Nullable Duration rpo) {
      this.rpo = rpo;
    }

    public Compression getCompression() {
      return compression;
    }

    public void setCompression(Compression compression) {
      this.compression = compression;
    }

    public @Nullable String getEncryptionPassphrase() {
      return encryptionPassphrase;
    }

    public void setEncryptionPassphrase(@Nullable String encryptionPassphrase) {
      this.encryptionPassphrase = encryptionPassphrase;
    }

    @Override
    public String toString() {
      return "Plan[source=" + source + ", tables=" + tables + ", schedule=" + schedule + ", encrypted="
          + (encryptionPassphrase != null) + "]"; // never the passphrase
    }
  }

  /** Retention rules: the newest N backups, and the newest of each of the N newest days / weeks / months. */
  public static class RetentionOptions {
    /** Keep the N newest backups. */
    private @Nullable Integer keepLast;

    /** Keep the newest backup of each of the N newest days that have one. */
    private @Nullable Integer keepDaily;

    /** Keep the newest backup of each of the N newest ISO weeks that have one. */
    private @Nullable Integer keepWeekly;

    /** Keep the newest backup of each of the N newest months that have one. */
    private @Nullable Integer keepMonthly;

    public @Nullable Integer getKeepLast() {
      return keepLast;
    }

    public void setKeepLast(@Nullable Integer keepLast) {
      this.keepLast = keepLast;
    }

    public @Nullable Integer getKeepDaily() {
      return keepDaily;
    }

    public void setKeepDaily(@Nullable Integer keepDaily) {
      this.keepDaily = keepDaily;
    }

    public @Nullable Integer getKeepWeekly() {
      return keepWeekly;
    }

    public void setKeepWeekly(@Nullable Integer keepWeekly) {
      this.keepWeekly = keepWeekly;
    }

    public @Nullable Integer getKeepMonthly() {
      return keepMonthly;
    }

    public void setKeepMonthly(@Nullable Integer keepMonthly) {
      this.keepMonthly = keepMonthly;
    }

    boolean isSet() {
      return keepLast != null || keepDaily != null || keepWeekly != null || keepMonthly != null;
    }
  }

  /** A scheduled restore drill: the newest backup restored into a scratch server, verified, timed and recorded. */
  public static class DrillOptions {
    /** Cron expression of the drills (e.g. "0 4 1 * *", monthly); empty: no scheduled drills. */
    private @Nullable String schedule;

    /** The scratch server: postgresql://user@host:port/postgres (never production). */
    private @Nullable String server;

    public @Nullable String getSchedule() {
      return schedule;
    }

    public void setSchedule(@Nullable String schedule) {
      this.schedule = schedule;
    }

    public @Nullable String getServer() {
      return server;
    }

    public void setServer(@Nullable String server) {
      this.server = server;
    }
  }

  /** Compression of a plan's artifacts. */
  public enum Compression {
    ZSTD, GZIP, NONE
  }

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public @Nullable String getRepository() {
    return repository;
  }

  public void setRepository(@Nullable String repository) {
    this.repository = repository;
  }

  public boolean isFailOnStartupError() {
    return failOnStartupError;
  }

  public void setFailOnStartupError(boolean failOnStartupError) {
    this.failOnStartupError = failOnStartupError;
  }

  public Duration getShutdownGrace() {
    return shutdownGrace;
  }

  public void setShutdownGrace(Duration shutdownGrace) {
    this.shutdownGrace = shutdownGrace;
  }

  public Map<String, Plan> getPlans() {
    return plans;
  }

  public void setPlans(Map<String, Plan> plans) {
    this.plans = plans;
  }
}
