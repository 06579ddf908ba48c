package dev.savepoint.cli;

import dev.savepoint.core.AuditLog;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.postgres.RestoreDrill;
import dev.savepoint.postgres.pitr.BaseBackupSource;
import dev.savepoint.postgres.pitr.PointInTimeRestore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "report", description = "Storage usage and maintenance status per plan: backups, bytes stored, "
    + "newest backup age, last verification (from the audit log), last drill, and what is overdue (exit 3 if "
    + "anything is).")
final class ReportCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  SecretOptions secretOptions;

  @Option(names = "--max-age", defaultValue = "P1D", description = "Newest backup older than this is overdue (default: ${DEFAULT-VALUE}).")
  Duration maxAge;

  @Option(names = "--drill-every", defaultValue = "P31D", description = "A drill older than this is overdue (default: ${DEFAULT-VALUE}).")
  Duration drillEvery;

  @Option(names = "--verify-every", defaultValue = "P7D",
      description = "A plan not verified (savepoint verify) within this is overdue (default: ${DEFAULT-VALUE}).")
  Duration verifyEvery;

  @Option(names = "--max-wal-age", defaultValue = "PT15M", description = "For point-in-time plans (base backups and "
      + "WAL): newest durable WAL older than this, or a gap in the chain, is overdue (default: ${DEFAULT-VALUE}).")
  Duration maxWalAge;

  @Option(names = "--html", paramLabel = "<file>", description = "Also write a self-contained status page: per plan "
      + "a timeline of backups with the RPO (--max-age) and where it was breached, restore drill times against "
      + "--rto, recoverable windows, storage.")
  java.nio.file.Path html;

  @Option(names = "--rto", defaultValue = "PT1H", description = "RTO target the status page compares drill times with "
      + "(default: ${DEFAULT-VALUE}).")
  Duration rto;

  @Option(names = "--json", description = "Print the plans and overdue items as JSON.")
  boolean json;

  @Option(names = "--config", paramLabel = "<plans.yaml>", description = "Take each plan's cadence from its plan file: "
      + "its rpo (else --max-age), verifyEvery (else --verify-every), drillEvery (else --drill-every); a weekly plan "
      + "is then overdue after a week, not a day.")
  java.nio.file.Path config;

  @Override
  public Integer call() throws Exception {
    // With the plan's key, only what it signs counts (a planted backup cannot make an overdue plan look current).
    Repository repository = repo.open(secretOptions.secrets());
    if (!repository.authenticated()) {
      System.err.println("savepoint: warning: " + repository.describe() + " is read without a key: backups and drill "
          + "reports anyone could have written count (give --passphrase-env or --manifest-hmac-env)");
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    List<String> overdue = new ArrayList<>();
    Instant now = Instant.now();
    Map<String, Instant> lastVerified = new LinkedHashMap<>();
    List<AuditLog.Entry> entries;
    try {
      entries = repository.auditLog().verify();
    } catch (dev.savepoint.core.IntegrityException broken) {
      // Reported, and the rest of the report goes on from the entries that still read: a planted object in the
      // audit log must not blind the monitoring.
      overdue.add("audit log: " + broken.getMessage());
      entries = repository.auditLog().readable();
    }
    for (AuditLog.Entry e : entries) {
      if (e.action().startsWith("verify") && "ok".equals(e.result())) {
        lastVerified.put(e.subject().substring(0, Math.max(0, e.subject().indexOf('/'))), e.time());
      }
    }
    RepositoryOptions.warnStrays(repository);
    Map<String, PlanFile.PlanSpec> specs = new LinkedHashMap<>();
    if (config != null) {
      PlanFile.read(config).forEach(s -> specs.put(s.name(), s));
    }
    // A plan of the file that never backed up has no folder here: it is the most overdue of all, not absent.
    java.util.TreeSet<String> plans = new java.util.TreeSet<>(repository.plans());
    plans.addAll(specs.keySet());
    for (String plan : plans) {
      PlanFile.PlanSpec spec = specs.get(plan);
      Duration maxAge = spec != null && spec.rpo() != null ? spec.rpo() : this.maxAge;
      Duration verifyEvery = spec != null && spec.verifyEvery() != null ? spec.verifyEvery() : this.verifyEvery;
      Duration drillEvery = spec != null && spec.drillEvery() != null ? spec.drillEvery() : this.drillEvery;
      List<Manifest> backups = repository.list(plan);
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("plan", plan);
      row.put("backups", backups.size());
      row.put("storedBytes", backups.stream().mapToLong(Manifest::storedBytes).sum());
      Instant lastDrill = null;
      RestoreDrill.Report newestDrill = null;
      for (Manifest m : backups) {
        for (RestoreDrill.Report r : RestoreDrill.reports(repository, m)) {
          if (r.passed() && (lastDrill == null || r.startedAt().isAfter(lastDrill))) {
            lastDrill = r.startedAt();
          }
          newestDrill = newestDrill == null || r.startedAt().isAfter(newestDrill.startedAt()) ? r : newestDrill;
        }
      }
      if (newestDrill != null && !newestDrill.passed()) {
        // The newest drill failed: whatever passed before, today's backups are not proven restorable.
        overdue.add(plan + ": the newest restore drill (" + newestDrill.startedAt() + ", backup "
            + newestDrill.backupId() + ") failed: " + newestDrill.detail());
      }
      Instant newest = backups.isEmpty() ? null : backups.get(backups.size() - 1).startedAt();
      row.put("newestBackup", newest == null ? null : newest.toString());
      row.put("lastPassedDrill", lastDrill == null ? null : lastDrill.toString());
      Instant verified = lastVerified.get(plan);
      row.put("lastVerified", verified == null ? null : verified.toString());
      // Counted from the last verification, else from the plan's first backup: a plan a day old is not a week overdue.
      Instant firstBackup = backups.isEmpty() ? null : backups.get(0).startedAt();
      if (!backups.isEmpty() && Duration.between(verified != null ? verified : firstBackup, now)
          .compareTo(verifyEvery) > 0) {
        overdue.add(plan + ": not verified within " + Format.period(verifyEvery));
      }
      if (newest == null) {
        overdue.add(plan + ": no backup at all");
      } else if (Duration.between(newest, now).compareTo(maxAge) > 0) {
        overdue.add(plan + ": newest backup older than " + Format.period(maxAge));
      }
      for (Repository.Damaged d : repository.damaged(plan)) {
        overdue.add(plan + ": backup " + d.id() + " is damaged (" + d.reason() + ")");
      }
      // Safety backups are by-products of restores, checked as they are taken; maintenance rules are for plans
      // someone scheduled.
      boolean byProduct = !backups.isEmpty() && backups.stream().allMatch(m -> "safety".equals(m.tier()));
      if (byProduct) {
        overdue.removeIf(o -> o.startsWith(plan + ": not verified") || o.startsWith(plan + ": newest backup older"));
      }
      boolean isPostgres = backups.stream().anyMatch(m -> m.source().type().equals("postgresql"));
      if (isPostgres && !byProduct && firstBackup != null && Duration.between(lastDrill != null ? lastDrill : firstBackup,
          now).compareTo(drillEvery) > 0) {
        overdue.add(plan + ": no passed restore drill within " + Format.period(drillEvery));
      }
      if (backups.stream().anyMatch(m -> m.source().type().equals(BaseBackupSource.TYPE))) {
        PointInTimeRestore pitr = new PointInTimeRestore(repository, plan);
        PointInTimeRestore.Window window = pitr.window();
        row.put("recoverableFrom", window.from().toString());
        row.put("recoverableTo", window.to().toString());
        row.put("walAgeSeconds", Math.max(0, Duration.between(window.to(), now).toSeconds()));
        pitr.rpoBreach(maxWalAge, now).ifPresent(breach -> overdue.add(plan + ": " + breach.message()));
        if (!json) {
          // A clock a little behind the server's would make it "-1.4 s old": never younger than now.
          System.out.printf("%-20s recoverable from %s to %s (newest durable WAL %d s old)%n", plan, window.from(),
              window.to(), Math.max(0, Duration.between(window.to(), now).toSeconds()));
        }
      }
      rows.add(row);
      if (!json) {
        System.out.printf("%-20s %5d backup(s) %10s  newest %s  last passed drill %s%n", plan, backups.size(),
            Format.bytes((Long) row.get("storedBytes")), newest == null ? "none" : newest,
            lastDrill == null ? "never" : lastDrill);
      }
    }
    if (html != null) {
      java.nio.file.Files.writeString(html, dev.savepoint.report.StatusPage.render(repository, maxAge, rto, now,
          overdue));
      System.err.println("status page written to " + html);
    }
    if (json) {
      System.out.println(Format.json(Map.of("plans", rows, "overdue", overdue)));
    } else {
      overdue.forEach(o -> System.out.println("OVERDUE " + o));
    }
    if (!overdue.isEmpty()) {
      throw new Main.VerificationFailedException(overdue.size() + " item(s) overdue: " + String.join("; ", overdue));
    }
    return Main.OK;
  }
}
