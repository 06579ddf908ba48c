package dev.savepoint.postgres;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.SavepointException;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.operations.Event;
import dev.savepoint.core.operations.Notifier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monthly restore test: restores a backup into a new scratch database on a given server, checks every
 * table's row count against the manifest, drops the scratch database, and records a {@link Report} next to
 * the backup ({@code <plan>/<id>/drills/<time>.json}) as evidence for the RTO. A failed drill is a report
 * with {@code passed = false}, not an exception; an exception means the drill could not run at all.
 */
public final class RestoreDrill {
  private static final Logger log = LoggerFactory.getLogger(RestoreDrill.class);
  private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT);

  /** What a drill measured. {@code restoreMillis} is the time to restore and verify (the RTO evidence). */
  public record Report(String plan, String backupId, Instant startedAt, long restoreMillis, long tablesChecked,
      long rowsChecked, boolean passed, String detail) {}

  private final Repository repository;
  private final String plan;
  private final PostgresUrl server;
  private final BackupSelector selector;
  private final Secrets secrets;
  private final Notifier notifier;

  /**
   * @param server any database URL on the scratch server (its database part is ignored); the user needs
   *     CREATEDB
   */
  /** A drill with the repository's own {@link Repository#secrets()}. */
  public RestoreDrill(Repository repository, String plan, PostgresUrl server, BackupSelector selector) {
    this(repository, plan, server, selector, repository.secrets());
  }

  public RestoreDrill(Repository repository, String plan, PostgresUrl server, BackupSelector selector,
      Secrets secrets) {
    this(repository, plan, server, selector, secrets, event -> { });
  }

  /** As above, telling {@code notifier} the result (DRILL_PASSED or DRILL_FAILED). */
  public RestoreDrill(Repository repository, String plan, PostgresUrl server, BackupSelector selector,
      Secrets secrets, Notifier notifier) {
    this.notifier = Notifier.safely(java.util.List.of(notifier));
    // The drill's keys are its requirements too: a backup they do not sign is not the newest one to drill.
    this.repository = repository.withSecrets(Objects.requireNonNull(secrets).orElse(repository.secrets()));
    this.plan = Objects.requireNonNull(plan);
    this.server = Objects.requireNonNull(server);
    this.selector = Objects.requireNonNull(selector);
    this.secrets = Objects.requireNonNull(secrets);
  }

  public Report run() throws IOException {
    Manifest manifest = repository.select(plan, selector);
    String scratch = "savepoint_drill_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    PostgresUrl scratchUrl = server.withDatabase(scratch);
    Instant started = Instant.now();
    long t0 = System.nanoTime();
    Report report;
    try {
      // A tier is drilled alone: its references into other tiers cannot hold in the scratch server.
      Map<String, Object> facts = repository.restore(manifest,
          PostgresTarget.builder(scratchUrl).withoutCrossTierReferences().build(), secrets).facts();
      long millis = Duration.ofNanos(System.nanoTime() - t0).toMillis();
      long tables = dev.savepoint.postgres.internal.Facts.number(facts, "tablesChecked").longValue();
      // Counts taken by a role that RLS filtered would agree with the loss; only newer backups rule that out.
      String caveat = "off".equals(manifest.source().facts().get("rowSecurity")) ? ""
          : "; WARNING: the backup predates Savepoint's row-level security check, so its row counts may share "
              + "a filtered role's blind spot: take a new backup";
      if (!caveat.isEmpty()) {
        log.warn("restore drill of backup {} ({}){}", manifest.id(), plan, caveat);
      }
      report = tables == 0
          ? new Report(plan, manifest.id(), started, millis, 0, 0, false,
              "the backup holds no table rows to check: a drill that checks nothing proves nothing" + caveat)
          : new Report(plan, manifest.id(), started, millis, tables, dev.savepoint.postgres.internal.Facts.number(facts, "rowsChecked").longValue(),
              true, "restored and verified " + tables + " tables" + (facts.get("databaseProperties") == null ? ""
                  : "; database properties " + facts.get("databaseProperties"))
                  + (facts.get("databaseWarnings") == null ? "" : "; WARNING: " + facts.get("databaseWarnings"))
                  + (facts.get("crossTierReferencesLeftOut") == null ? ""
                      : "; references to other tiers left out: " + facts.get("crossTierReferencesLeftOut")) + caveat);
    } catch (dev.savepoint.core.CryptoException | dev.savepoint.core.ConfigurationException e) {
      // A wrong key or setting is the operator's mistake, not a failed restore: no FAILED report is stored.
      throw e;
    } catch (SavepointException e) {
      long millis = Duration.ofNanos(System.nanoTime() - t0).toMillis();
      report = new Report(plan, manifest.id(), started, millis, 0, 0, false, String.valueOf(e.getMessage()));
    } finally {
      PostgresTarget.execute(server.withDatabase("postgres"),
          "DROP DATABASE IF EXISTS " + PostgresSource.quote(scratch) + " WITH (FORCE)");
    }
    record(repository, manifest, report);
    log.info("restore drill of backup {} ({}): {} in {} ms", manifest.id(), plan, report.passed() ? "passed" : "FAILED",
        report.restoreMillis());
    notifier.notify(new Event(report.passed() ? Event.Type.DRILL_PASSED : Event.Type.DRILL_FAILED, plan,
        manifest.id(), Instant.now(), (report.passed() ? "restored and verified " + report.rowsChecked() + " rows in "
            : "failed after ") + report.restoreMillis() + " ms" + (report.passed() ? "" : ": " + report.detail()),
        Map.of("restoreMillis", report.restoreMillis(), "rowsChecked", report.rowsChecked())));
    return report;
  }

  /** Keeps a drill report with the backup it drilled ({@code drills/<time>.json}): list, report and pages show it. */
  public static void record(Repository repository, Manifest backup, Report report) throws IOException {
    repository.writeAttachment(backup, Repository.DRILLS + report.startedAt().toString().replace(':', '-') + ".json",
        toJson(report));
  }

  /** The recorded drill reports of a backup, oldest first. */
  public static List<Report> reports(Repository repository, Manifest manifest) throws IOException {
    List<Report> result = new java.util.ArrayList<>();
    for (byte[] bytes : repository.attachments(manifest, Repository.DRILLS).values()) {
      result.add(JSON.readValue(bytes, Report.class));
    }
    return result;
  }

  /** The most recent drill of any of {@code backups}, if one was drilled (one attachment listing per backup). */
  public static java.util.Optional<Report> latest(Repository repository, java.util.Collection<Manifest> backups)
      throws IOException {
    return latest(repository, backups, r -> true);
  }

  /** The most recent drill of {@code backups} that passed, if any. */
  public static java.util.Optional<Report> latestPassed(Repository repository, java.util.Collection<Manifest> backups)
      throws IOException {
    return latest(repository, backups, Report::passed);
  }

  private static java.util.Optional<Report> latest(Repository repository, java.util.Collection<Manifest> backups,
      java.util.function.Predicate<Report> counted) throws IOException {
    Report latest = null;
    for (Manifest m : backups) {
      for (Report r : reports(repository, m)) {
        if (counted.test(r)) {
          latest = latest == null || r.startedAt().isAfter(latest.startedAt()) ? r : latest;
        }
      }
    }
    return java.util.Optional.ofNullable(latest);
  }

  private static byte[] toJson(Report report) {
    try {
      return JSON.writeValueAsString(report).getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
