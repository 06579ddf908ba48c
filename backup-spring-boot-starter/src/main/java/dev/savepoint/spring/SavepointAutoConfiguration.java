package dev.savepoint.spring;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.operations.LockProvider;
import dev.savepoint.core.operations.MicrometerMetrics;
import dev.savepoint.core.operations.Notifier;
import dev.savepoint.core.operations.Scheduler;
import dev.savepoint.crypto.OpenPgpEncryption;
import dev.savepoint.postgres.PostgresLockProvider;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresUrl;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Turns {@code savepoint.*} into a {@link Repository}, one {@link BackupPlan} per configured plan, a
 * {@link Scheduler} started and stopped with the application context (one replica takes each backup: an advisory
 * lock on the application's {@code DataSource}), Micrometer metrics in the application's registry and a
 * {@code savepoint} health indicator. A bean of the same type replaces each part (a Repository bean for S3 or
 * GCS, say).
 */
@AutoConfiguration(afterName = {"org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration",
    "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
    "org.springframework.boot.actuate.autoconfigure.metrics.export.prometheus.PrometheusMetricsExportAutoConfiguration"})
@ConditionalOnProperty(prefix = "savepoint", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(SavepointProperties.class)
public class SavepointAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  public Repository savepointRepository(SavepointProperties properties) {
    Repository repository = RepositoryUris.open("savepoint.repository", properties.getRepository(),
        properties.isFailOnStartupError());
    String key = properties.getManifestHmacKey();
    if (key == null || key.isEmpty()) {
      return repository;
    }
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    if (bytes.length < 32) {
      throw new SavepointPropertyException("savepoint.manifest-hmac-key must be at least 32 bytes");
    }
    return repository.signedWith(dev.savepoint.core.security.ManifestSigner.hmacSha256(bytes));
  }

  /**
   * Refuses, naming the key, a plan or WAL stream whose repository nothing authenticates, unless
   * savepoint.insecure-unsigned says so (then logged once).
   */
  private static void requireAuthenticated(String key, Repository repository, SavepointProperties properties) {
    if (repository.authenticated()) {
      return;
    }
    if (!properties.isInsecureUnsigned()) {
      // A plan of the application's own carries its own repository: the keys here do not reach it.
      String remedy = key.startsWith("savepoint.") ? "set " + key + ".encryption-passphrase (signed with a key derived "
          + "from it) or savepoint.manifest-hmac-key" : "give it an OpenPGP passphrase transform (signed with a key "
          + "derived from it) or build its repository with Repository.signedWith(ManifestSigner.hmacSha256(key))";
      throw new SavepointPropertyException(key + ": nothing authenticates its backups, so anyone who can write "
          + repository.describe() + " could plant one that a drill trusts: " + remedy + ", or accept the risk with "
          + "savepoint.insecure-unsigned=true");
    }
    org.slf4j.LoggerFactory.getLogger(SavepointAutoConfiguration.class).warn("savepoint: {} is not authenticated "
        + "(savepoint.insecure-unsigned): its backups are trusted on the word of anyone who can write {}", key,
        repository.describe());
  }

  /** Slack and webhook notifications from savepoint.notify.* (URLs from the environment; never logged). */
  @Bean
  public Notifier savepointNotifications(SavepointProperties properties) {
    List<Notifier> notifiers = new java.util.ArrayList<>();
    String slack = properties.getNotify().getSlackWebhook();
    if (slack != null && !slack.isBlank()) {
      notifiers.add(Notifier.slack(java.net.URI.create(slack)));
    }
    String webhook = properties.getNotify().getWebhook();
    if (webhook != null && !webhook.isBlank()) {
      notifiers.add(Notifier.webhook(java.net.URI.create(webhook)));
    }
    return Notifier.safely(notifiers);
  }

  @Bean
  @ConditionalOnMissingBean
  public SavepointPlans savepointPlans(SavepointProperties properties, Repository repository, Environment environment,
      ObjectProvider<Notifier> notifiers, ObjectProvider<BackupPlan> applicationPlans) {
    Map<String, BackupPlan> plans = new LinkedHashMap<>();
    List<Notifier> all = notifiers.orderedStream().toList();
    // The application's own BackupPlan beans: scheduled, checked, measured and alerted on like configured ones.
    applicationPlans.orderedStream().forEach(bean -> {
      String key = "BackupPlan bean '" + bean.name() + "'";
      if (plans.put(bean.name(), bean.alsoNotifying(Notifier.safely(all))) != null) {
        throw new SavepointPropertyException("two BackupPlan beans are named '" + bean.name() + "': plan names are unique");
      }
      requireAuthenticated(key, bean.repository(), properties);
      SavepointProperties.Plan spec = properties.getPlans().get(bean.name());
      if (spec != null) {
        java.util.List<String> defined = new java.util.ArrayList<>();
        if (spec.getSource() != null) {
          defined.add("source");
        }
        if (spec.isPhysical()) {
          defined.add("physical");
        }
        if (!spec.getTables().isEmpty()) {
          defined.add("tables");
        }
        if (!spec.getCrossTierReferences().isEmpty()) {
          defined.add("cross-tier-references");
        }
        if (spec.getFormat() != null) {
          defined.add("format");
        }
        if (spec.getEncryptionPassphrase() != null) {
          defined.add("encryption-passphrase");
        }
        if (spec.getTier() != null) {
          defined.add("tier");
        }
        if (spec.getRpo() != null) {
          defined.add("rpo");
        }
        if (!spec.getCopyTo().isEmpty()) {
          defined.add("copy-to");
        }
        if (!defined.isEmpty()) {
          throw new SavepointPropertyException("savepoint.plans." + bean.name() + "." + String.join(", ", defined)
              + ": the BackupPlan bean of that name defines this already; give only schedule, zone, retention and "
              + "drill under savepoint.plans." + bean.name());
        }
      }
    });
    Map<String, dev.savepoint.core.operations.Retention> retention = new LinkedHashMap<>();
    properties.getPlans().forEach((name, spec) -> {
      String key = "savepoint.plans." + name;
      if (spec.getRetention().isSet()) {
        retention.put(name, retention(key, spec.getRetention()));
      }
      validateSchedules(key, spec);
      if (plans.containsKey(name)) {
        return; // the application's own plan: scheduled, pruned and drilled from here
      }
      BackupPlan.Builder plan = BackupPlan.builder(name);
      plan.tier(spec.getTier()).source(source(key, spec, environment)).repository(repository).rpo(spec.getRpo());
      if (spec.isPhysical()) {
        plan.verifier(dev.savepoint.core.Verifiers.presence(1));
      }
      switch (spec.getCompression()) {
        case ZSTD -> plan.transform(Transforms.zstd());
        case GZIP -> plan.transform(Transforms.gzip());
        case NONE -> { }
      }
      if (spec.getEncryptionPassphrase() != null && !spec.getEncryptionPassphrase().isEmpty()) {
        plan.transform(OpenPgpEncryption.passphrase(spec.getEncryptionPassphrase().toCharArray()));
      }
      all.forEach(plan::notifier);
      for (String archive : spec.getCopyTo()) {
        plan.copyTo(RepositoryUris.open(key + ".copy-to", archive));
      }
      BackupPlan built;
      try {
        built = plan.build();
      } catch (IllegalArgumentException e) {
        throw new SavepointPropertyException(key + ": " + e.getMessage(), e);
      }
      requireAuthenticated(key, built.repository(), properties);
      plans.put(name, built);
    });
    Map<String, dev.savepoint.postgres.pitr.WalStreamer> streamers = new LinkedHashMap<>();
    properties.getWalStreams().forEach((name, spec) -> {
      String key = "savepoint.wal-streams." + name;
      List<dev.savepoint.core.Transform> transforms = new java.util.ArrayList<>(List.of(Transforms.zstd()));
      if (spec.getEncryptionPassphrase() != null && !spec.getEncryptionPassphrase().isEmpty()) {
        transforms.add(OpenPgpEncryption.passphrase(spec.getEncryptionPassphrase().toCharArray()));
      }
      Repository streamRepository = repository.withSecrets(Transforms.secretsOf(transforms).orElse(repository.secrets()));
      requireAuthenticated(key, streamRepository, properties);
      String slot = spec.getSlot() != null ? spec.getSlot() : "savepoint_" + name.replace('-', '_');
      try {
        streamers.put(name, new dev.savepoint.postgres.pitr.WalStreamer(database(key, spec.getSource(), environment),
            new dev.savepoint.postgres.pitr.WalArchive(streamRepository, name, transforms), slot,
            spec.getFlushInterval()));
      } catch (IllegalArgumentException e) {
        throw new SavepointPropertyException(key + ".slot: " + e.getMessage(), e);
      }
    });
    return new SavepointPlans(plans, retention, streamers, properties);
  }

  private static dev.savepoint.core.operations.Retention retention(String key, SavepointProperties.RetentionOptions r) {
    try {
      dev.savepoint.core.operations.Retention.Builder b = dev.savepoint.core.operations.Retention.builder();
      if (r.getKeepLast() != null) {
        b.last(r.getKeepLast());
      }
      if (r.getKeepDaily() != null) {
        b.daily(r.getKeepDaily());
      }
      if (r.getKeepWeekly() != null) {
        b.weekly(r.getKeepWeekly());
      }
      if (r.getKeepMonthly() != null) {
        b.monthly(r.getKeepMonthly());
      }
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new SavepointPropertyException(key + ".retention: " + e.getMessage(), e);
    }
  }

  private static void validateSchedules(String key, SavepointProperties.Plan spec) {
    if (spec.getSchedule() != null) {
      try {
        Scheduler.validateCron(spec.getSchedule());
        ZoneId.of(spec.getZone());
      } catch (RuntimeException e) {
        throw new SavepointPropertyException(key + ".schedule/zone: " + e.getMessage(), e);
      }
    }
    if (spec.getDrill().getSchedule() != null) {
      try {
        Scheduler.validateCron(spec.getDrill().getSchedule());
        PostgresUrl.parse(String.valueOf(spec.getDrill().getServer()));
      } catch (RuntimeException | dev.savepoint.core.ConfigurationException e) {
        throw new SavepointPropertyException(key + ".drill: " + e.getMessage(), e);
      }
    }
  }

  /**
   * What a plan backs up, by its source: a database (logical, or physical base backups), a bucket's objects, a
   * directory or file, or configuration from the environment. Options of another kind are refused, naming the key.
   */
  static dev.savepoint.core.Source source(String key, SavepointProperties.Plan spec, Environment environment) {
    String uri = spec.getSource() == null ? "" : spec.getSource().strip();
    boolean postgres = uri.isEmpty() || PostgresUrl.isPostgresUrl(uri);
    if (!postgres && !uri.startsWith("file:") && !uri.startsWith("s3://") && !uri.startsWith("env:")) {
      throw new SavepointPropertyException(key + ".source is '" + RepositoryUris.redact(uri) + "': not a PostgreSQL URL "
          + "(postgresql://…), s3://bucket/prefix, file:/path or env:NAME,PREFIX_* (empty: the application's "
          + "DataSource)");
    }
    boolean logicalOptions = spec.getFormat() != null || !spec.getTables().isEmpty()
        || !spec.getCrossTierReferences().isEmpty();
    if (!postgres && (spec.isPhysical() || logicalOptions)) {
      throw new SavepointPropertyException(key + ": physical, format, tables and cross-tier-references are for PostgreSQL "
          + "sources, not " + RepositoryUris.redact(uri));
    }
    try {
      if (uri.startsWith("file:")) {
        java.nio.file.Path path = java.nio.file.Path.of(uri.substring("file:".length()));
        if (java.nio.file.Files.isDirectory(path)) {
          return new dev.savepoint.core.sources.DirectorySource(path);
        }
        if (!java.nio.file.Files.isRegularFile(path)) {
          throw new SavepointPropertyException(key + ".source: " + path + " is neither a directory nor a file");
        }
        return dev.savepoint.core.sources.StreamSource.file(path);
      }
      if (uri.startsWith("s3://")) {
        return RepositoryUris.bucket(key + ".source", uri);
      }
      if (uri.startsWith("env:")) {
        return dev.savepoint.core.sources.EnvironmentSource.environment(List.of(uri.substring("env:".length()).split(",")));
      }
      PostgresUrl database = database(key, uri, environment);
      if (spec.isPhysical()) {
        if (logicalOptions) {
          throw new SavepointPropertyException(key + ": a physical plan backs up the whole cluster: no format, tables or "
              + "cross-tier-references");
        }
        return new dev.savepoint.postgres.pitr.BaseBackupSource(database);
      }
      PostgresSource.Builder source = PostgresSource.builder(database).format(spec.getFormat());
      if (!spec.getTables().isEmpty()) {
        source.table(spec.getTables().toArray(String[]::new));
      }
      if (!spec.getCrossTierReferences().isEmpty()) {
        source.crossTierReference(spec.getCrossTierReferences().toArray(String[]::new));
      }
      return source.build();
    } catch (IOException | IllegalArgumentException e) {
      throw new SavepointPropertyException(key + ".source: " + e.getMessage(), e);
    }
  }

  /** The plan's database: its own URL, or the application's DataSource properties. */
  static PostgresUrl database(String key, @Nullable String source, Environment environment) {
    try {
      if (source != null && !source.isBlank()) {
        return PostgresUrl.parse(source);
      }
      String url = environment.getProperty("spring.datasource.url");
      if (url == null || !url.startsWith("jdbc:postgresql://")) {
        throw new SavepointPropertyException(key + ".source is not set and spring.datasource.url is not a PostgreSQL "
            + "JDBC URL (" + (url == null ? "unset" : "'" + url.replaceAll("password=[^&]*", "password=…") + "'")
            + "): give postgresql://user@host:port/db");
      }
      String user = environment.getProperty("spring.datasource.username");
      String password = environment.getProperty("spring.datasource.password");
      PostgresUrl parsed = PostgresUrl.parse("postgresql://" + (user == null ? ""
          : URLEncoder.encode(user, StandardCharsets.UTF_8) + "@") + url.substring("jdbc:postgresql://".length()));
      return password == null ? parsed : parsed.withPassword(password::toCharArray);
    } catch (dev.savepoint.core.ConfigurationException e) {
      throw new SavepointPropertyException(key + ".source: " + e.getMessage(), e);
    }
  }

  @Bean
  @ConditionalOnMissingBean
  public SavepointScheduler savepointScheduler(SavepointPlans plans, Repository repository,
      ObjectProvider<DataSource> dataSource, ObjectProvider<Notifier> notifiers) {
    DataSource ds = dataSource.getIfAvailable();
    LockProvider locks = ds == null ? LockProvider.inProcess() : new PostgresLockProvider(ds);
    return new SavepointScheduler(plans, repository, locks, Notifier.safely(notifiers.orderedStream().toList()));
  }

  /** Backup metrics in the application's registry (savepoint.backup.*), where it has one. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterRegistry.class)
  static class Metrics {
    @Bean
    @ConditionalOnMissingBean(MicrometerMetrics.class)
    Notifier savepointMetrics(ObjectProvider<MeterRegistry> registry) {
      MeterRegistry r = registry.getIfAvailable();
      if (r == null) {
        return event -> { };
      }
      return new MicrometerMetrics(r);
    }

    /**
     * Once everything exists: each plan's meters from the repository's state (the last success, failure counters at
     * 0: alerts hold after a restart) and each WAL streamer's state (savepoint.wal.durable.age, .lsn,
     * savepoint.wal.streamer.*). A repository that cannot be read now leaves a plan's gauge unset, and says so.
     */
    @Bean
    org.springframework.beans.factory.SmartInitializingSingleton savepointStartupMetrics(
        ObjectProvider<Notifier> notifiers, ObjectProvider<SavepointPlans> plans) {
      return () -> {
        SavepointPlans p = plans.getIfAvailable();
        MicrometerMetrics metrics = notifiers.orderedStream().filter(MicrometerMetrics.class::isInstance)
            .map(MicrometerMetrics.class::cast).findFirst().orElse(null);
        if (metrics == null || p == null) {
          return;
        }
        p.all().forEach((name, plan) -> {
          if (plan.rpo() != null) {
            metrics.rpo(name, plan.rpo());
          }
          try {
            metrics.plan(name, plan.repository().newest(name).map(Manifest::finishedAt).orElse(null));
            SavepointProperties.Plan spec = p.properties().getPlans().get(name);
            if (spec != null && spec.getDrill().getSchedule() != null) {
              // As the health indicator looks for it: among the newest backups (a drill may lag the newest).
              metrics.drills(name, dev.savepoint.postgres.RestoreDrill.latestPassed(plan.repository(), plan.repository()
                  .newest(name, SavepointHealthIndicator.DRILLS_LOOKED_BACK)).map(d -> d.startedAt()).orElse(null));
            }
          } catch (java.io.IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(SavepointAutoConfiguration.class).warn("savepoint: cannot read the newest backup "
                + "of plan '{}' for its metrics: {}", name, e.getMessage());
          }
        });
        p.walStreamers().forEach(metrics::walStreamer);
      };
    }
  }

  /** {@code /actuator/savepoint}: status, the status page, and (when enabled) backups on demand. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(org.springframework.boot.actuate.endpoint.annotation.Endpoint.class)
  static class ActuatorEndpoint {
    @Bean
    @ConditionalOnMissingBean
    SavepointEndpoint savepointEndpoint(SavepointPlans plans, Repository repository) {
      return new SavepointEndpoint(plans, repository);
    }
  }

  /**
   * {@code savepoint} in /actuator/health: BACKUPS_AT_RISK when a plan's newest backup is older than its RPO. Off with
   * {@code management.health.savepoint.enabled=false}; Kubernetes probes use the liveness and readiness groups, which
   * leave it out unless told otherwise (a backup problem is no reason to restart the application).
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = {"org.springframework.boot.actuate.health.HealthIndicator",
      "org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator"})
  static class Health {
    @Bean
    @ConditionalOnMissingBean(name = "savepointHealthIndicator")
    @org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator("savepoint")
    SavepointHealthIndicator savepointHealthIndicator(SavepointPlans plans, Repository repository) {
      return new SavepointHealthIndicator(plans, repository);
    }
  }
}
