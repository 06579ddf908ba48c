package dev.savepoint.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.javaprop.JavaPropsMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Source;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.operations.Notifier;
import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.operations.Scheduler;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresUrl;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

/**
 * Plans described in a YAML, JSON or {@code .properties} file (then {@code plans.1.name=...}, with 1-based
 * indexes), for {@code savepoint run}. Secrets are never in the file: it names environment variables that hold
 * them. Example:
 *
 * <pre>
 * plans:
 *   - name: trpg-tier1
 *     tier: tier1
 *     schedule: "0 * * * *"        # cron, 5 fields (or 6 with seconds)
 *     zone: Asia/Tokyo
 *     rpo: PT1H
 *     source: postgresql://app@db:5432/trpg
 *     tables: [users, game_sessions, chat_messages, ai_generated_content, campaigns]
 *     tablesOnly: [legacy_events]    # this table's own rows, not its partitions or inheritance children
 *     crossTierReferences: [game_sessions_campaign_id_fkey]   # foreign keys into another tier's tables
 *     excludeTableData: [session_cache]
 *     pgFormat: parallel             # auto (default: parallel where it applies, else plain), parallel, plain, custom
 *     jobs: 4                        # connections copying tables at once (parallel format)
 *     compress: zstd
 *     encryptPassphraseEnv: BACKUP_PASSPHRASE
 *     recipients: [/etc/savepoint/ops.asc, /etc/savepoint/escrow.asc]
 *     repository: s3://trpg-backups/primary?region=ap-northeast-1
 *     archive: s3://trpg-archive/monthly?region=ap-northeast-1&amp;storageClass=DEEP_ARCHIVE
 *     retention: {keepDaily: 7, keepWeekly: 4}
 *     minSizeBytes: 1000000
 *     slackWebhookEnv: SLACK_WEBHOOK_URL
 *     manifestHmacEnv: MANIFEST_KEY   # sign with this HMAC key (default for passphrase plans: a key derived from it)
 *     insecureUnsigned: false        # true accepts a plan whose backups nothing authenticates
 * </pre>
 */
final class PlanFile {
  /** One plan entry; unknown fields are refused so typos do not silently change a backup. */
  record PlanSpec(String name, String tier, String schedule, String zone, Duration rpo, String source,
      List<String> tables, List<String> tablesOnly, List<String> crossTierReferences, List<String> excludeTableData, String pgFormat, Integer jobs, String compress, Integer level,
      String encryptPassphraseEnv, List<String> recipients, String repository, String archive,
      RetentionSpec retention, Long minSizeBytes, String slackWebhookEnv, String webhookEnv, String manifestHmacEnv,
      Boolean insecureUnsigned, Duration verifyEvery, Duration drillEvery) {}

  /**
   * Counts take -1 for "every period"; keepWithin is measured from the newest backup (P7D, P1M, PT36H).
   * {@code run} applies it after each backup only with {@code pruneOnRun: true} (else only {@code prune} deletes).
   */
  record RetentionSpec(Integer keepLast, Integer keepHourly, Integer keepDaily, Integer keepWeekly,
      Integer keepMonthly, Integer keepYearly, String keepWithin, String zone, Duration minFresh, Boolean pruneOnRun) {
    /** The plan's retention; its freshness guard is {@code minFresh}, else the plan's RPO. */
    Retention toRetention(Duration rpo) {
      return Retention.builder().last(n(keepLast)).hourly(n(keepHourly)).daily(n(keepDaily)).weekly(n(keepWeekly))
          .monthly(n(keepMonthly)).yearly(n(keepYearly)).within(keepWithin)
          .zone(zone == null ? java.time.ZoneOffset.UTC : ZoneId.of(zone)).minFresh(minFresh != null ? minFresh : rpo)
          .build();
    }

    private static int n(Integer i) {
      return i == null ? 0 : i;
    }
  }

  record Root(List<PlanSpec> plans) {}

  private PlanFile() {}

  static List<PlanSpec> read(Path file) throws IOException {
    if (!java.nio.file.Files.isRegularFile(file)) {
      throw new ConfigurationException("plan file " + file + " does not exist");
    }
    String name = file.toString();
    ObjectMapper mapper = (name.endsWith(".properties") ? new JavaPropsMapper()
        : new ObjectMapper(name.endsWith(".json") ? null : new YAMLFactory()))
        .registerModule(new JavaTimeModule()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY);
    Root root;
    try {
      root = mapper.readValue(file.toFile(), Root.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw ConfigErrors.of("plan file", file, e);
    }
    if (root == null || root.plans() == null || root.plans().isEmpty()) {
      throw new ConfigurationException("plan file " + file + " defines no plans");
    }
    java.util.Set<String> names = new java.util.HashSet<>();
    for (PlanSpec p : root.plans()) {
      if (p.name() != null && !names.add(p.name())) {
        // Two plans of one name share its backups: one's retention would delete the other's.
        throw new ConfigurationException("plan file " + file + " defines plan '" + p.name() + "' twice");
      }
      if (p.name() == null || p.source() == null || p.repository() == null) {
        throw new ConfigurationException("plan file " + file + ": every plan needs name, source and repository");
      }
      if (p.schedule() != null) {
        try {
          Scheduler.validateCron(p.schedule());
        } catch (IllegalArgumentException e) {
          throw new ConfigurationException("plan file " + file + ", plan '" + p.name() + "': " + e.getMessage());
        }
      }
      for (String zone : java.util.Arrays.asList(p.zone(), p.retention() == null ? null : p.retention().zone())) {
        if (zone != null) {
          try {
            ZoneId.of(zone);
          } catch (java.time.DateTimeException e) {
            throw new ConfigurationException("plan file " + file + ", plan '" + p.name() + "': unknown time zone '"
                + zone + "' (use a region such as Asia/Tokyo or UTC)");
          }
        }
      }
      if (p.retention() != null) {
        try {
          p.retention().toRetention(p.rpo());
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
          throw new ConfigurationException("plan file " + file + ", plan '" + p.name() + "': retention: " + e.getMessage());
        }
      }
    }
    return root.plans();
  }

  /** The plan's source: a {@link PostgresSource} for PostgreSQL URLs, else what {@link Uris#source} makes. */
  static Source source(PlanSpec p) throws IOException {
    if (PostgresUrl.isPostgresUrl(p.source())) {
      PostgresSource.Builder pg = PostgresSource.builder(PostgresUrl.parse(p.source()))
          .format(Uris.pgFormat(p.pgFormat() == null ? "auto" : p.pgFormat()));
      if (p.jobs() != null) {
        pg.jobs(p.jobs());
      }
      if (p.tables() != null) {
        pg.table(p.tables().toArray(String[]::new));
      }
      if (p.tablesOnly() != null) {
        pg.tableOnly(p.tablesOnly().toArray(String[]::new));
      }
      if (p.crossTierReferences() != null) {
        pg.crossTierReference(p.crossTierReferences().toArray(String[]::new));
      }
      if (p.excludeTableData() != null) {
        pg.excludeTableData(p.excludeTableData().toArray(String[]::new));
      }
      return pg.build();
    }
    return Uris.source(p.source());
  }

  /** The plan {@code p} describes; what its builders refuse is a {@link ConfigurationException} naming the plan. */
  static BackupPlan build(PlanSpec p) throws IOException {
    try {
      return assemble(p);
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      throw new ConfigurationException("plan '" + p.name() + "': " + e.getMessage());
    }
  }

  private static BackupPlan assemble(PlanSpec p) throws IOException {
    Source source = source(p);
    BackupPlan.Builder b = BackupPlan.builder(p.name()).tier(p.tier()).source(source)
        .repository(repository(p, p.repository())).rpo(p.rpo())
        .verifier(Verifiers.presence(p.minSizeBytes() == null ? 0 : p.minSizeBytes()));
    TransformChoices.compression(p.compress() == null ? "zstd" : p.compress(), p.level()).ifPresent(b::transform);
    TransformChoices.openPgp(p.encryptPassphraseEnv(),
        p.recipients() == null ? List.of() : p.recipients().stream().map(Path::of).toList()).ifPresent(b::transform);
    if (p.archive() != null) {
      b.copyTo(repository(p, p.archive()));
    }
    List<Notifier> notifiers = new ArrayList<>(List.of(Notifier.log()));
    if (p.slackWebhookEnv() != null) {
      notifiers.add(Notifier.slack(URI.create(new String(SecretOptions.env(p.slackWebhookEnv())))));
    }
    if (p.webhookEnv() != null) {
      notifiers.add(Notifier.webhook(URI.create(new String(SecretOptions.env(p.webhookEnv())))));
    }
    notifiers.forEach(b::notifier);
    BackupPlan plan = b.build();
    if (!plan.repository().authenticated()) { // a manifestHmacEnv signs, and so does a passphrase
      if (!Boolean.TRUE.equals(p.insecureUnsigned())) {
        throw new ConfigurationException("plan '" + p.name() + "': nothing authenticates its backups, so anyone who "
            + "can write " + p.repository() + " could plant one: give encryptPassphraseEnv (manifests are then signed "
            + "with a key derived from it) or manifestHmacEnv, or accept the risk with insecureUnsigned: true");
      }
      TrustOptions.insecureNotice(plan.repository().describe());
    }
    return plan;
  }

  /** The repository {@code uri} of plan {@code p}, signed with the plan's HMAC key if it names one. */
  private static dev.savepoint.core.Repository repository(PlanSpec p, String uri) throws IOException {
    dev.savepoint.core.Repository repository = Uris.repository(uri);
    return p.manifestHmacEnv() == null ? repository
        : repository.signedWith(TrustOptions.hmacFromEnv(p.manifestHmacEnv()));
  }
}
