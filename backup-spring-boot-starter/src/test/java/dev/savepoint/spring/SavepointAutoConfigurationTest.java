package dev.savepoint.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.savepoint.core.Repository;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** Property binding and the start-up failures that name the key. */
class SavepointAutoConfigurationTest {
  @TempDir
  Path tmp;

  ApplicationContextRunner runner() {
    return authenticatedOrNot().withPropertyValues("savepoint.insecure-unsigned=true");
  }

  ApplicationContextRunner authenticatedOrNot() {
    return new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SavepointAutoConfiguration.class))
        .withPropertyValues("savepoint.repository=file:" + tmp.resolve("repo"),
            "savepoint.plans.trpg-tier1.source=postgresql://app@db.internal:5432/trpg",
            "savepoint.plans.trpg-tier1.tables=users,chat_messages",
            "savepoint.plans.trpg-tier1.format=parallel",
            "savepoint.plans.trpg-tier1.schedule=0 * * * *",
            "savepoint.plans.trpg-tier1.rpo=PT1H");
  }

  @Test
  void propertiesBecomePlansASchedulerAndAHealthIndicator() {
    runner().run(context -> {
      assertThat(context).hasNotFailed().hasSingleBean(Repository.class).hasSingleBean(SavepointScheduler.class)
          .hasSingleBean(SavepointHealthIndicator.class);
      SavepointPlans plans = context.getBean(SavepointPlans.class);
      assertThat(plans.get("trpg-tier1")).get().satisfies(p -> {
        assertThat(p.rpo()).hasHours(1);
        assertThat(p.repository().describe()).contains(tmp.resolve("repo").toString());
      });
    });
  }

  /**
   * Issue 40.4: after a restart the last success comes from the repository and the failure counters exist at 0, so
   * the RPO alert and a first failure are seen before this process backs up.
   */
  @Test
  void metricsStartFromTheRepositorysState() throws Exception {
    dev.savepoint.core.Manifest existing = dev.savepoint.core.BackupPlan.builder("trpg-tier1")
        .source(dev.savepoint.core.sources.StreamSource.of("dump.sql", dev.savepoint.core.store.ByteSource.wrap(new byte[10])))
        .repository(new Repository(new dev.savepoint.core.store.FilesystemStore(tmp.resolve("repo")))).build().run()
        .manifest();
    runner().withBean(io.micrometer.core.instrument.MeterRegistry.class,
        io.micrometer.core.instrument.simple.SimpleMeterRegistry::new).run(context -> {
          assertThat(context).hasNotFailed();
          io.micrometer.core.instrument.MeterRegistry registry =
              context.getBean(io.micrometer.core.instrument.MeterRegistry.class);
          assertThat(registry.get("savepoint.backup.last.success").tag("plan", "trpg-tier1").gauge().value())
              .isEqualTo((double) existing.finishedAt().getEpochSecond());
          assertThat(registry.get("savepoint.backup.failures").tag("plan", "trpg-tier1").counter()).isNotNull();
          assertThat(registry.get("savepoint.drill.failures").tag("plan", "trpg-tier1").counter().count()).isZero();
        });
    // A drilled plan publishes its last passed drill from the start too (0: none passed, so the alert fires).
    runner().withPropertyValues("savepoint.plans.trpg-tier1.drill.schedule=0 4 1 * *",
        "savepoint.plans.trpg-tier1.drill.server=postgresql://postgres@127.0.0.1:1/postgres")
        .withBean(io.micrometer.core.instrument.MeterRegistry.class,
            io.micrometer.core.instrument.simple.SimpleMeterRegistry::new).run(context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(io.micrometer.core.instrument.MeterRegistry.class)
                  .get("savepoint.drill.last.success").tag("plan", "trpg-tier1").gauge().value()).isZero();
            });
  }

  /**
   * Issue 40.6: uploads, a directory, configuration and physical base backups by properties, each backed up as its
   * kind; options of another kind refused naming the key.
   */
  @Test
  void everyPlanKindByProperties() throws Exception {
    Path uploads = java.nio.file.Files.createDirectories(tmp.resolve("uploads"));
    java.nio.file.Files.writeString(uploads.resolve("map.png"), "a map");
    new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(SavepointAutoConfiguration.class))
        .withPropertyValues("savepoint.insecure-unsigned=true", "savepoint.repository=file:" + tmp.resolve("repo"),
            "savepoint.plans.uploads.source=file:" + uploads, "savepoint.plans.config.source=env:PATH,HOME",
            "savepoint.plans.bucket.source=s3://uploads/maps?region=us-east-1&endpoint=http://127.0.0.1:1&pathStyle=true",
            "savepoint.plans.cluster.source=postgresql://replicator@db.internal:5432/postgres",
            "savepoint.plans.cluster.physical=true")
        .run(context -> {
          assertThat(context).hasNotFailed();
          SavepointPlans plans = context.getBean(SavepointPlans.class);
          assertThat(plans.all()).containsOnlyKeys("uploads", "config", "bucket", "cluster");
          assertThat(plans.run("uploads").manifest().source().type()).isEqualTo("directory");
          assertThat(plans.run("config").manifest().source().type()).isEqualTo("environment");
        });
    runner().withPropertyValues("savepoint.plans.uploads.source=file:" + uploads,
        "savepoint.plans.uploads.tables=users").run(context -> assertThat(context.getStartupFailure())
            .hasStackTraceContaining("savepoint.plans.uploads: physical, format, tables and cross-tier-references "
                + "are for PostgreSQL sources"));
    runner().withPropertyValues("savepoint.plans.trpg-tier1.physical=true").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1: a physical "
            + "plan backs up the whole cluster"));
    runner().withPropertyValues("savepoint.plans.x.source=ftp://host/dir").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.x.source is 'ftp://host/dir'"));
  }

  /**
   * Issue 40.6: an application's own BackupPlan bean is scheduled, retained, measured and alerted on like a
   * configured one; configuring what the bean defines is refused.
   */
  @Test
  void anApplicationsOwnPlanBeanIsPickedUp() throws Exception {
    java.util.List<dev.savepoint.core.operations.Event> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    Repository repository = new Repository(new dev.savepoint.core.store.FilesystemStore(tmp.resolve("own")));
    runner().withBean("ownPlan", dev.savepoint.core.BackupPlan.class, () -> dev.savepoint.core.BackupPlan
            .builder("campaign-exports").rpo(java.time.Duration.ofHours(2)).repository(repository)
            .source(dev.savepoint.core.sources.StreamSource.of("export.json", dev.savepoint.core.store.ByteSource.wrap(
                "{}".getBytes()))).build())
        .withBean("listener", dev.savepoint.core.operations.Notifier.class, () -> events::add)
        .withPropertyValues("savepoint.plans.campaign-exports.schedule=0 3 * * *",
            "savepoint.plans.campaign-exports.retention.keep-last=1")
        .withBean(io.micrometer.core.instrument.MeterRegistry.class,
            io.micrometer.core.instrument.simple.SimpleMeterRegistry::new)
        .run(context -> {
          assertThat(context).hasNotFailed();
          SavepointPlans plans = context.getBean(SavepointPlans.class);
          assertThat(plans.all()).containsKeys("trpg-tier1", "campaign-exports");
          // (the scheduler may also catch up at start: the plan had no backup within its RPO)
          plans.run("campaign-exports");
          plans.run("campaign-exports");
          assertThat(repository.list("campaign-exports")).as("retention keep-last 1").hasSize(1);
          assertThat(events).filteredOn(e -> e.type() == dev.savepoint.core.operations.Event.Type.BACKUP_SUCCEEDED)
              .hasSizeGreaterThanOrEqualTo(2).allMatch(e -> e.plan().equals("campaign-exports"));
          io.micrometer.core.instrument.MeterRegistry registry =
              context.getBean(io.micrometer.core.instrument.MeterRegistry.class);
          assertThat(registry.get("savepoint.backup.last.success").tag("plan", "campaign-exports").gauge().value())
              .isPositive();
          assertThat(registry.get("savepoint.plan.rpo").tag("plan", "campaign-exports").gauge().value())
              .isEqualTo(7200);
          assertThat(context.getBean(SavepointHealthIndicator.class).health().getDetails().get("plans").toString())
              .contains("campaign-exports={newestBackup=" + repository.newest("campaign-exports").orElseThrow().id(),
                  "within RPO");
        });
    runner().withBean("ownPlan", dev.savepoint.core.BackupPlan.class, () -> dev.savepoint.core.BackupPlan
            .builder("campaign-exports").repository(repository).source(dev.savepoint.core.sources.StreamSource.of("e.json",
                dev.savepoint.core.store.ByteSource.wrap(new byte[1]))).build())
        .withPropertyValues("savepoint.plans.campaign-exports.source=postgresql://app@db/trpg")
        .run(context -> assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans."
            + "campaign-exports.source: the BackupPlan bean of that name defines this already"));
    // A bean's repository that nothing authenticates: the remedy is one that reaches the bean's own repository.
    authenticatedOrNot().withPropertyValues("savepoint.manifest-hmac-key=" + "k".repeat(32),
        "savepoint.plans.trpg-tier1.encryption-passphrase=p").withBean("ownPlan", dev.savepoint.core.BackupPlan.class,
            () -> dev.savepoint.core.BackupPlan.builder("campaign-exports").repository(repository)
                .source(dev.savepoint.core.sources.StreamSource.of("e.json", dev.savepoint.core.store.ByteSource.wrap(new byte[1])))
                .build())
        .run(context -> assertThat(context.getStartupFailure()).hasStackTraceContaining("BackupPlan bean "
            + "'campaign-exports': nothing authenticates its backups").hasStackTraceContaining(
                "Repository.signedWith(ManifestSigner.hmacSha256(key))"));
  }

  /** Issue 40.7: a backup on demand that fails answers typed JSON with the cause, not an opaque 500. */
  @Test
  void aFailingBackupOnDemandSaysWhatFailed() {
    runner().withPropertyValues("savepoint.endpoint.operations-enabled=true",
        "savepoint.plans.trpg-tier1.source=postgresql://app@127.0.0.1:1/trpg").run(context -> {
          org.springframework.boot.actuate.endpoint.web.WebEndpointResponse<Map<String, Object>> r =
              context.getBean(SavepointEndpoint.class).run("trpg-tier1", null);
          assertThat(r.getStatus()).isEqualTo(502);
          assertThat(r.getBody()).containsEntry("plan", "trpg-tier1").containsEntry("operation", "backup")
              .containsEntry("error", "SourceException");
          assertThat(String.valueOf(r.getBody().get("message"))).contains("127.0.0.1:1");
        });
  }

  /** Issue 40.5: the health indicator can be switched off like every Spring Boot one. */
  @Test
  void theHealthIndicatorCanBeSwitchedOff() {
    runner().run(context -> assertThat(context).hasSingleBean(SavepointHealthIndicator.class));
    runner().withPropertyValues("management.health.savepoint.enabled=false")
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(SavepointHealthIndicator.class));
  }

  /** Issue 40.1: a mistyped key fails the start, naming the key and the nearest valid one, never its value. */
  @Test
  void aMistypedKeyFailsTheStartNamingTheNearestKeyButNotTheValue() {
    runner().withPropertyValues("savepoint.plans.trpg-tier1.encryption-pasphrase=canary-passphrase-41",
        "savepoint.plans.trpg-tier1.schedul=0 4 * * *").run(context -> {
          Throwable failure = context.getStartupFailure();
          assertThat(failure).isNotNull();
          org.springframework.boot.diagnostics.FailureAnalysis analysis =
              new dev.savepoint.spring.internal.UnknownPropertyFailureAnalyzer().analyze(failure);
          assertThat(analysis).isNotNull();
          assertThat(analysis.getDescription()).contains(
              "savepoint.plans.trpg-tier1.encryption-pasphrase", "did you mean encryption-passphrase?",
              "savepoint.plans.trpg-tier1.schedul", "did you mean schedule?").doesNotContain("canary-passphrase-41");
          assertThat(failure).hasStackTraceContaining("encryption-pasphrase");
        });
    // A right name at the wrong level: where it belongs, not "did you mean" itself.
    runner().withPropertyValues("savepoint.retention.keep-last=3", "savepoint.schedule=0 4 * * *").run(context -> {
      assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.retention.keep-last");
      assertThat(new dev.savepoint.spring.internal.UnknownPropertyFailureAnalyzer().analyze(context.getStartupFailure())
          .getDescription()).contains("savepoint.schedule", "schedule belongs at savepoint.plans.<name>.schedule or savepoint.plans.<name>.drill.schedule",
              "keep-last belongs at savepoint.plans.<name>.retention.keep-last");
    });
    // Other prefixes are not Savepoint's to judge.
    runner().withPropertyValues("spring.savepoint-unrelated=1").run(context -> assertThat(context).hasNotFailed());
  }

  /**
   * Trial 2 of issue 40: a value that cannot work fails the start in one paragraph naming the key — never the value,
   * which in the wrong key may be a secret (Spring's own analysis would print it).
   */
  @Test
  void aBadValueIsExplainedWithoutTheValue() {
    dev.savepoint.spring.internal.PropertyValueFailureAnalyzer analyzer =
        new dev.savepoint.spring.internal.PropertyValueFailureAnalyzer();
    runner().withPropertyValues("savepoint.plans.trpg-tier1.rpo=canary-secret-77").run(context -> {
      org.springframework.boot.diagnostics.FailureAnalysis analysis = analyzer.analyze(context.getStartupFailure());
      assertThat(analysis.getDescription()).contains("savepoint.plans.trpg-tier1.rpo", "is not a valid Duration")
          .doesNotContain("canary-secret-77");
      assertThat(analysis.getAction()).doesNotContain("canary-secret-77");
    });
    runner().withPropertyValues("savepoint.manifest-hmac-key=canary-short").run(context -> {
      org.springframework.boot.diagnostics.FailureAnalysis analysis = analyzer.analyze(context.getStartupFailure());
      assertThat(analysis.getDescription()).contains("savepoint.manifest-hmac-key must be at least 32 bytes")
          .doesNotContain("canary-short");
    });
    runner().withPropertyValues("savepoint.plans.trpg-tier1.schedule=61 * * * *").run(context ->
        assertThat(analyzer.analyze(context.getStartupFailure()).getDescription())
            .startsWith("Savepoint cannot start: savepoint.plans.trpg-tier1.schedule/zone: invalid cron expression"));
  }

  /**
   * Trial 2 of issue 40: a file: repository that cannot be opened at start-up (an unmounted volume) stops the start
   * only with fail-on-startup-error; otherwise health says so and the repository opens once it can.
   */
  @Test
  void anUnavailableFileRepositoryStopsTheStartOnlyWhenTold() throws Exception {
    Path blocked = java.nio.file.Files.writeString(tmp.resolve("volume"), "not a directory yet");
    String[] repository = {"savepoint.repository=file:" + blocked.resolve("repo")};
    runner().withPropertyValues(repository).withPropertyValues("savepoint.fail-on-startup-error=true")
        .run(context -> assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.repository"));
    runner().withPropertyValues(repository).run(context -> {
      assertThat(context).hasNotFailed();
      assertThat(context.getBean(SavepointHealthIndicator.class).health().getDetails().get("plans").toString())
          .contains("repository unavailable");
      java.nio.file.Files.delete(blocked); // the volume is mounted
      assertThat(context.getBean(Repository.class).list("trpg-tier1")).isEmpty();
      assertThat(blocked.resolve("repo")).isDirectory();
    });
  }

  @Test
  void aPlanNothingAuthenticatesFailsTheStartUnlessSaidInsecure() {
    authenticatedOrNot().run(context -> assertThat(context.getStartupFailure())
        .hasStackTraceContaining("savepoint.plans.trpg-tier1: nothing authenticates its backups")
        .hasStackTraceContaining("savepoint.insecure-unsigned=true"));
    authenticatedOrNot().withPropertyValues("savepoint.plans.trpg-tier1.encryption-passphrase=a passphrase")
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(SavepointPlans.class).get("trpg-tier1").get().repository().authenticated())
              .isTrue();
        });
    authenticatedOrNot().withPropertyValues("savepoint.manifest-hmac-key=0123456789abcdef0123456789abcdef")
        .run(context -> assertThat(context).hasNotFailed());
    authenticatedOrNot().withPropertyValues("savepoint.manifest-hmac-key=short").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.manifest-hmac-key must be at least"));
  }

  @Test
  void mistakesFailTheStartNamingTheKey() {
    runner().withPropertyValues("savepoint.plans.trpg-tier1.schedule=61 * * * *").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1.schedule")
            .hasStackTraceContaining("invalid cron expression '61 * * * *'"));
    runner().withPropertyValues("savepoint.plans.trpg-tier1.format=fastest").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1.format"));
    runner().withPropertyValues("savepoint.plans.trpg-tier1.source=mysql://db/x").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1.source")
            .hasStackTraceContaining("not a PostgreSQL URL"));
    runner().withPropertyValues("savepoint.repository=").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.repository is not set"));
    runner().withPropertyValues("savepoint.plans.other.tables=users").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.other.source is not set")
            .hasStackTraceContaining("spring.datasource.url"));
  }

  @Test
  void theEndpointStartsNoBackupUnlessEnabled() {
    runner().run(context -> {
      var response = context.getBean(SavepointEndpoint.class).run("trpg-tier1", null);
      assertThat(response.getStatus()).isEqualTo(403);
      assertThat(response.getBody().toString()).contains("savepoint.endpoint.operations-enabled=true");
      assertThat(context.getBean(Repository.class).list("trpg-tier1")).isEmpty();
    });
  }

  @Test
  void s3RepositoriesAndArchivesComeFromUris() {
    dev.savepoint.testkit.TestS3Server s3 = dev.savepoint.testkit.TestS3Server.shared();
    String bucket = s3.createBucket("starter");
    System.setProperty("aws.accessKeyId", s3.accessKey());
    System.setProperty("aws.secretAccessKey", s3.secretKey());
    String uri = "s3://" + bucket + "/backups?endpoint=" + s3.endpoint() + "&region=" + s3.region() + "&pathStyle=true";
    runner().withPropertyValues("savepoint.repository=" + uri,
        "savepoint.plans.trpg-tier1.copy-to=file:" + tmp.resolve("archive")).run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(Repository.class).describe()).startsWith("s3://" + bucket);
          assertThat(context.getBean(Repository.class).list("trpg-tier1")).isEmpty(); // reachable
        });
    runner().withPropertyValues("savepoint.repository=gs://bucket/x").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("define a Repository bean"));
    runner().withPropertyValues("savepoint.plans.trpg-tier1.copy-to=ftp://archive/x?password=canary").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("savepoint.plans.trpg-tier1.copy-to")
            .hasStackTraceContaining("ftp://archive/x?…").satisfies(e -> assertThat(
                org.assertj.core.util.Throwables.getStackTrace(e)).doesNotContain("canary")));
  }

  @Test
  void offWhenDisabled() {
    runner().withPropertyValues("savepoint.enabled=false").run(context ->
        assertThat(context).doesNotHaveBean(SavepointScheduler.class).doesNotHaveBean(Repository.class));
  }
}
