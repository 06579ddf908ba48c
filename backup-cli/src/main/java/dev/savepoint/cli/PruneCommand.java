package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import dev.savepoint.core.operations.Retention;
import dev.savepoint.core.security.ApprovalPolicy;
import dev.savepoint.postgres.pitr.BaseBackupSource;
import dev.savepoint.postgres.pitr.PointInTimeRestore;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "prune", description = "Delete backups the retention rules do not keep (a backup is kept if any "
    + "rule keeps it; at least one --keep-* rule is required). The newest backup and backups in use by a restore "
    + "or drill are always kept. Also removes remains of failed backups.")
final class PruneCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Option(names = "--plan", required = true)
  String plan;

  /** Retention counts: a number, or {@code all} (also {@code -1}) for every period. */
  static final class Count implements CommandLine.ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      return value.equalsIgnoreCase("all") ? Retention.UNLIMITED : Integer.parseInt(value);
    }
  }

  @Option(names = "--keep-last", defaultValue = "0", converter = Count.class, paramLabel = "<N|all>",
      description = "Keep the N newest backups.")
  int last;

  @Option(names = "--keep-hourly", defaultValue = "0", converter = Count.class, paramLabel = "<N|all>",
      description = "Keep the newest backup of each of the N newest hours that have one.")
  int hourly;

  @Option(names = "--keep-daily", defaultValue = "0", converter = Count.class, paramLabel = "<N|all>",
      description = "Likewise per day (in --zone).")
  int daily;

  @Option(names = "--keep-weekly", defaultValue = "0", converter = Count.class, paramLabel = "<N|all>",
      description = "Likewise per ISO week.")
  int weekly;

  @Option(names = "--keep-monthly", defaultValue = "0", converter = Count.class, paramLabel = "<N|all>",
      description = "Likewise per month.")
  int monthly;

  @Option(names = "--keep-yearly", defaultValue = "0", converter = Count.class, paramLabel = "<N|all>",
      description = "Likewise per year.")
  int yearly;

  @Option(names = "--keep-within", paramLabel = "<ISO period>", description = "Keep every backup within this "
      + "window BEFORE THE NEWEST BACKUP (not before now, so a stopped backup job never shrinks the history): "
      + "P7D (calendar days in --zone), P1M, P1Y, PT36H.")
  String within;

  @Option(names = "--min-fresh", paramLabel = "<ISO duration>", description = "Freshness guard: delete nothing "
      + "while the newest backup is older than this (backups are failing), e.g. P2D.")
  Duration minFresh;

  @Option(names = "--force", description = "Prune even when the freshness guard would keep everything.")
  boolean force;

  @Option(names = "--zone", defaultValue = "UTC", description = "Time zone of days and weeks (default: UTC).")
  ZoneId zone;

  @Option(names = "--dry-run", description = "Only show what would be deleted and why each backup is kept.")
  boolean dryRun;

  @Option(names = "--json", description = "Print the verdicts as JSON.")
  boolean json;

  @Mixin
  Approvals.Options approvals;

  @Override
  public Integer call() throws Exception {
    Retention retention = Retention.builder().last(last).hourly(hourly).daily(daily).weekly(weekly).monthly(monthly)
        .yearly(yearly).within(within).zone(zone).minFresh(minFresh).build();
    if (force) {
      retention = retention.forced();
    }
    Repository repository = repo.open();
    RepositoryOptions.requirePlan(repository, plan);
    if (!dryRun) {
      List<String> doomed = repository.prune(plan, retention, true, Duration.ofHours(6)).stream()
          .filter(v -> !v.keep()).map(v -> v.backup().id()).toList();
      if (!doomed.isEmpty()) {
        approvals.require(repository, ApprovalPolicy.Operation.PRUNE, Approvals.Subject.prune(plan, doomed));
        retention = retention.deletingOnly(java.util.Set.copyOf(doomed));
      }
    }
    List<Retention.Verdict> verdicts = repository.prune(plan, retention, dryRun, Duration.ofHours(6));
    List<Map<String, Object>> rows = new ArrayList<>();
    long deleted = 0;
    for (Retention.Verdict v : verdicts) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("id", v.backup().id());
      row.put("startedAt", v.backup().startedAt().toString());
      row.put("keep", v.keep());
      row.put("reasons", v.reasons());
      rows.add(row);
      deleted += v.keep() ? 0 : 1;
      if (!json) {
        System.out.printf("%-26s %-6s %s%n", v.backup().id(), v.keep() ? "keep" : (dryRun ? "would delete" : "delete"),
            String.join(", ", v.reasons()));
      }
    }
    if (json) {
      System.out.println(Format.json(rows));
    }
    // A plan with physical backups: WAL goes only with the base backups that need it.
    if (repository.list(plan).stream().anyMatch(m -> m.source().type().equals(BaseBackupSource.TYPE))) {
      List<String> wal = new PointInTimeRestore(repository, plan).pruneWal(dryRun);
      if (!json && !wal.isEmpty()) {
        System.out.printf("%s %d WAL file(s) older than the oldest kept base backup (%s .. %s)%n",
            dryRun ? "would delete" : "deleted", wal.size(), wal.get(0), wal.get(wal.size() - 1));
      }
    }
    if (!dryRun) {
      Audit.record(repository, "prune", plan, "ok", Map.of("deleted", deleted, "policy", retention.toString()));
    }
    return Main.OK;
  }
}
