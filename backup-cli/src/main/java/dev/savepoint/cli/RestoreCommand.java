package dev.savepoint.cli;

import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.security.ApprovalPolicy;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.store.ArchiveRestore;
import dev.savepoint.core.store.ArchiveSupport;
import dev.savepoint.postgres.PostgresTarget;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.TierRestore;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "restore", description = "Restore a backup. Every digest is verified while streaming; on a "
    + "mismatch the target is left untouched and the exit code is 3.")
final class RestoreCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  SecretOptions secretOptions;

  @Mixin
  BackupChoice choice;


  @Option(names = "--at", paramLabel = "<ISO time>", description = "The newest backup taken at or before this time.")
  String at;

  @Option(names = "--lsn", paramLabel = "<X/Y>", description = "pgdata: targets: recover up to this WAL position (as "
      + "pg_current_wal_lsn() shows it, e.g. 0/3A000060) instead of a time.")
  String lsn;

  @Option(names = "--timeline", paramLabel = "<N>", description = "Point-in-time plans: recover along this timeline "
      + "(e.g. 1, the history before an in-place recovery made timeline 2) instead of the newest.")
  Integer timeline;

  @Option(names = "--to", required = true, paramLabel = "<uri>",
      description = "file:/path, - (stdout), postgresql://user@host:port/db, pgdata:/dir (point in time), or a managed "
          + "database restored by its provider to --at: neon://<project>/<branch>?tokenEnv=NEON_API_KEY, "
          + "supabase://<ref>?tokenEnv=SUPABASE_ACCESS_TOKEN.")
  String to;

  @Option(names = "--jobs", paramLabel = "<N>", description = "Connections loading tables at once when restoring "
      + "a parallel-format PostgreSQL backup, and pg_restore --jobs for its indexes (default: processors, 2 to 4).")
  Integer jobs;

  @Option(names = "--scope", defaultValue = "AUTO", paramLabel = "auto|database|tier", converter = ScopeConverter.class,
      description = "PostgreSQL: 'tier' replaces only the tables a tier backup holds, in one transaction, leaving every "
          + "other table of the live database as it is; 'database' replaces the whole database (tables outside a tier "
          + "backup come back empty); 'auto' (default): tier for a tier backup over an existing database, else database.")
  PostgresTarget.Scope scope;

  static final class ScopeConverter implements picocli.CommandLine.ITypeConverter<PostgresTarget.Scope> {
    @Override
    public PostgresTarget.Scope convert(String value) {
      return PostgresTarget.Scope.valueOf(value.toUpperCase(java.util.Locale.ROOT));
    }
  }

  @Option(names = "--on-unsafe-keys", defaultValue = "refuse", paramLabel = "refuse|escape",
      description = "Bucket backup to a directory: keys that are no safe path there (., .., empty segments, too "
          + "long, a key that is also a folder) make the restore refuse before writing anything (default), or go "
          + "under %%unsafe/<sha-256> with an index of their original keys (escape).")
  String onUnsafeKeys;

  @Option(names = "--verify", description = "pgdata: targets: start the restored cluster on a free port, wait until "
      + "it has recovered and promoted, print the last replayed commit, stop it.")
  boolean verify;

  @Option(names = "--globals", description = "PostgreSQL: first create the roles the server lacks from the "
      + "backup's globals (backup --globals), e.g. on a new server. Existing roles are not changed.")
  boolean globals;

  @Option(names = "--owner", paramLabel = "<role>", description = "PostgreSQL: make this role the database's owner "
      + "instead of the backed-up one; on a server lacking the backed-up roles, custom and parallel backups then "
      + "load without owners and privileges. Recorded in the report.")
  String owner;

  @Option(names = "--locale", paramLabel = "<locale>", description = "PostgreSQL: create the database with this "
      + "libc locale instead of the backed-up one (e.g. when the server lacks it). Recorded in the report.")
  String locale;

  @Option(names = "--with-tier", paramLabel = "<plan>", description = "PostgreSQL: restore the whole database from "
      + "this tier plan's backup and --plan's, each the newest at or before --at (else the newest): the other tiers' "
      + "tables are filled in, every key between them checked, and the result swapped into place. Repeatable.")
  List<String> withTiers = new java.util.ArrayList<>();

  @Option(names = "--replace", description = "Replace an existing non-empty directory or file target (a directory's "
      + "previous contents are kept beside it as <name>.replaced-<time>, to delete once the restore is confirmed).")
  boolean replace;

  @Option(names = "--no-same-owner", description = "Directory backups: leave restored files owned by this process "
      + "(by default, run as root, they get the owner and group recorded at backup, as tar --same-owner).")
  boolean noSameOwner;

  @Option(names = "--archive-tier", defaultValue = "STANDARD",
      description = "For archived backups (GLACIER, DEEP_ARCHIVE): EXPEDITED, STANDARD or BULK.")
  ArchiveSupport.Tier archiveTier;

  @Option(names = "--archive-days", defaultValue = "7", description = "How long the restored copy stays readable.")
  int archiveDays;

  @Option(names = "--wait", paramLabel = "<ISO duration>",
      description = "For archived backups: request the restore and wait up to this long (e.g. PT12H).")
  Duration waitFor;

  @Option(names = "--plan-only", description = "Only say what an archived backup needs and how long it takes.")
  boolean planOnly;

  @Mixin
  Approvals.Options approvals;

  @Override
  public Integer call() throws Exception {
    if (choice.backup != null && at != null) {
      throw new IllegalArgumentException("give either a backup id or --at, not both");
    }
    BackupSelector selector = at != null ? BackupSelector.atOrBefore(Format.instant("--at", at)) : choice.selector();
    if (!to.startsWith("pgdata:") && (timeline != null || lsn != null)) {
      throw new IllegalArgumentException((timeline != null ? "--timeline" : "--lsn") + " is for point-in-time restores "
          + "(--to pgdata:<dir>)");
    }
    Repository repository = repo.openAuthenticated(secretOptions.secrets());
    if (to.startsWith("pgdata:")) {
      return pointInTime(repository);
    }
    if (Uris.isProvider(to)) {
      return throughProvider(repository);
    }
    if (!withTiers.isEmpty()) {
      return combinedTiers(repository, selector);
    }
    Manifest m = repository.select(choice.plan, selector);
    BackupChoice.warnSkipped(repository, m);
    List<ArchiveRestore.Item> archived = ArchiveRestore.inspect(repository, m).stream()
        .filter(i -> i.status() != ArchiveSupport.Status.AVAILABLE).toList();
    if (planOnly) {
      ArchiveRestore.plan(ArchiveRestore.inspect(repository, m), archiveTier).forEach(System.out::println);
      return Main.OK;
    }
    if (!archived.isEmpty()) {
      if (waitFor == null) {
        throw new dev.savepoint.core.ObjectArchivedException("backup " + m.id() + " has " + archived.size()
            + " archived artifact(s): " + String.join("; ", ArchiveRestore.plan(archived, archiveTier))
            + ". Rerun with --wait PT12H to request the restore and wait, or --plan-only");
      }
      ArchiveRestore.requestAndWait(repository, m, archiveTier, archiveDays, waitFor, Duration.ofMinutes(1),
          line -> System.err.println("savepoint: " + line));
    }
    approvals.require(repository, ApprovalPolicy.Operation.RESTORE, Approvals.Subject.backup(choice.plan, m, to));
    RestoreTarget target = Uris.target(to, m, replace, repository, choice.plan + "-safety",
        FilesTarget.UnsafeKeys.valueOf(onUnsafeKeys.toUpperCase(java.util.Locale.ROOT)), pg -> {
      if (jobs != null) {
        pg.jobs(jobs);
      }
      pg.owner(owner).locale(locale).scope(scope).restoreGlobals(globals);
    });
    if (noSameOwner && target instanceof dev.savepoint.core.sources.DirectoryTarget directory) {
      target = directory.ignoringOwners();
    }
    Repository.RestoreResult result;
    try {
      result = repository.restore(m, target, secretOptions.secrets());
    } catch (Exception e) {
      Audit.record(repository, "restore", choice.plan + "/" + m.id() + " -> " + Uris.redact(to), "failed",
          Map.of("error", String.valueOf(e.getMessage())));
      throw e;
    }
    Audit.record(repository, "restore", choice.plan + "/" + m.id() + " -> " + Uris.redact(to), "ok", result.facts());
    System.err.printf("restored backup %s of plan '%s' to %s: %s in %s%n", m.id(), choice.plan, result.target(),
        Format.bytes(result.rawBytes()), Format.duration(result.duration()));
    for (Map.Entry<String, Object> fact : result.facts().entrySet()) {
      if (!(fact.getKey().equals("checksPassed") && Integer.valueOf(0).equals(fact.getValue()))) {
        System.err.printf("  %s: %s%n", fact.getKey(), fact.getValue());
      }
    }
    return Main.OK;
  }

  /** {@code --with-tier}: one database from several tier plans' backups at one time. */
  private int combinedTiers(Repository repository, BackupSelector selector) throws Exception {
    if (!PostgresUrl.isPostgresUrl(to)) {
      throw new IllegalArgumentException("--with-tier combines PostgreSQL tier backups: --to must be postgresql://…");
    }
    if (choice.backup != null) {
      throw new IllegalArgumentException("--with-tier picks each tier's backup by time: give --at (or nothing for the "
          + "newest), not a backup id");
    }
    List<String> plans = new java.util.ArrayList<>(List.of(choice.plan));
    plans.addAll(withTiers);
    approvals.require(repository, ApprovalPolicy.Operation.RESTORE,
        Approvals.Subject.pointInTime(String.join("+", plans), at, null, null, to));
    PostgresTarget.Builder pg = PostgresTarget.builder(PostgresUrl.parse(to)).safetyBackup(repository,
        choice.plan + "-safety").owner(owner).locale(locale);
    if (jobs != null) {
      pg.jobs(jobs);
    }
    String what = String.join("+", plans) + " @ " + (at == null ? "latest" : at) + " -> " + Uris.redact(to);
    Repository.RestoreResult result;
    try {
      result = TierRestore.restore(repository, plans, selector, pg.build(), secretOptions.secrets());
    } catch (Exception e) {
      Audit.record(repository, "restore", what, "failed", Map.of("error", String.valueOf(e.getMessage())));
      throw e;
    }
    Audit.record(repository, "restore", what, "ok", result.facts());
    System.err.printf("restored plans %s (backups %s) to %s: %s in %s%n", String.join(", ", plans), result.backupId(),
        result.target(), Format.bytes(result.rawBytes()), Format.duration(result.duration()));
    result.facts().forEach((k, v) -> System.err.printf("  %s: %s%n", k, v));
    return Main.OK;
  }

  /** {@code --to neon://… | supabase://…}: the managed provider's own point-in-time restore, to {@code --at}. */
  private int throughProvider(Repository repository) throws Exception {
    if (at == null || choice.backup != null) {
      throw new IllegalArgumentException("a restore through the provider goes back to a point in time: give --at "
          + "<ISO time> (the provider keeps the WAL; there is no backup id)");
    }
    approvals.require(repository, ApprovalPolicy.Operation.RESTORE_PROVIDER,
        Approvals.Subject.pointInTime(choice.plan, at, null, null, to));
    dev.savepoint.providers.ManagedPitr provider = Uris.provider(to);
    Duration timeout = waitFor != null ? waitFor : Duration.ofHours(1);
    String what = choice.plan + " @ " + at + " -> " + provider.describe();
    Map<String, Object> details;
    try {
      details = provider.restore(Format.instant("--at", at), timeout);
    } catch (Exception e) {
      Audit.record(repository, "restore", what, "failed", Map.of("error", String.valueOf(e.getMessage())));
      throw e;
    }
    Audit.record(repository, "restore", what, "ok", details);
    System.err.printf("restored %s to %s through the provider%n", provider.describe(), details.get("restoredTo"));
    details.forEach((k, v) -> System.err.printf("  %s: %s%n", k, v));
    return Main.OK;
  }

  /** {@code --to pgdata:<dir>}: a point-in-time restore of a physical plan (base backups and WAL). */
  private int pointInTime(Repository repository) throws Exception {
    if (choice.backup != null && !choice.backup.equals("latest")) {
      throw new IllegalArgumentException("a point-in-time restore takes --at <ISO time> or latest, not a backup id");
    }
    if (lsn != null && at != null) {
      throw new IllegalArgumentException("give either --at or --lsn, not both");
    }
    approvals.require(repository, ApprovalPolicy.Operation.RESTORE_PITR,
        Approvals.Subject.pointInTime(choice.plan, at, lsn, timeline, to));
    Instant target = at == null ? null : Format.instant("--at", at);
    Path dir = Path.of(to.substring("pgdata:".length()));
    dev.savepoint.postgres.pitr.PointInTimeRestore pitr = PitrOptions.of(repository, choice.plan, timeline);
    dev.savepoint.postgres.pitr.PointInTimeRestore.Result r;
    try {
      r = lsn != null ? pitr.restoreToLsn(lsn, dir, secretOptions.secrets())
          : pitr.restore(target, dir, secretOptions.secrets());
    } catch (Exception e) {
      Audit.record(repository, "restore", choice.plan + " @ " + (lsn != null ? lsn : at == null ? "latest" : at) + " -> "
          + to, "failed", Map.of("error", String.valueOf(e.getMessage())));
      throw e;
    }
    Audit.record(repository, "restore", choice.plan + " @ " + r.target() + " -> " + to, "ok",
        Map.of("baseBackup", r.baseBackupId(), "walFiles", r.walFiles()));
    System.err.printf("restored plan '%s' to %s into %s: base backup %s and %d WAL file(s); start PostgreSQL on it to "
        + "recover%n", choice.plan, r.target(), r.directory(), r.baseBackupId(), r.walFiles());
    if (verify) {
      dev.savepoint.postgres.pitr.LocalCluster.Recovered recovered = dev.savepoint.postgres.pitr.LocalCluster
          .verifyRecovery(r.directory(), r.serverMajor(), Duration.ofMinutes(30));
      for (String setting : recovered.neutralised()) {
        System.err.println("the restored configuration sets " + setting + ": not run during verification");
      }
      java.util.Optional<String> shortfall = r.shortfall(recovered);
      if (shortfall.isPresent()) {
        throw new Main.VerificationFailedException("restored plan '" + choice.plan + "' into " + r.directory()
            + ", but verification failed: " + shortfall.get());
      }
      System.err.printf("verified: recovered and promoted in %s; %s%n", Format.duration(recovered.recoveryTime()),
          recovered.lastReplayedCommit() == null ? "no commit was replayed (the base backup alone)"
              : "last replayed commit " + recovered.lastReplayedCommit());
    }
    return Main.OK;
  }
}
