package dev.savepoint.cli;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.RestoreDrill;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "drill", description = "Restore a PostgreSQL backup into a scratch database, verify row counts, "
    + "drop the scratch database and record the result; or, with --pgdata, a point-in-time plan to the newest WAL "
    + "(or --at) into a scratch directory, started until it has recovered (exit 3 if the drill failed).")
final class DrillCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  SecretOptions secretOptions;

  @Mixin
  BackupChoice choice;


  @Option(names = "--scratch", paramLabel = "<url>",
      description = "A database URL on the scratch server, e.g. postgresql://postgres@db-test:5432/postgres.")
  String scratch;

  @Option(names = "--pgdata", paramLabel = "<dir>", description = "Point-in-time plans: where the scratch data "
      + "directory goes (deleted afterwards); needs the PostgreSQL server binaries of the backed-up version.")
  java.nio.file.Path pgdata;

  @Option(names = "--at", paramLabel = "<ISO time>", description = "With --pgdata: the time to recover to "
      + "(default: the newest durable WAL).")
  String at;

  @Option(names = "--timeline", paramLabel = "<N>", description = "With --pgdata: recover along this timeline "
      + "(e.g. 1, the history before an in-place recovery made timeline 2) instead of the newest.")
  Integer timeline;

  @Option(names = "--json", description = "Print the drill report as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if ((scratch == null) == (pgdata == null)) {
      throw new IllegalArgumentException("give --scratch <postgresql:// URL> (a logical backup) or --pgdata <dir> "
          + "(a point-in-time plan)");
    }
    if (scratch != null && !PostgresUrl.isPostgresUrl(scratch)) {
      throw new ConfigurationException("--scratch must be a postgresql:// URL");
    }
    Repository repository = repo.openAuthenticated(secretOptions.secrets());
    if (scratch != null) {
      BackupChoice.warnSkipped(repository, repository.select(choice.plan, choice.selector()));
    }
    RestoreDrill.Report report = pgdata != null
        ? PitrOptions.of(repository, choice.plan, timeline).drill(
            at == null ? null : Format.instant("--at", at), pgdata, secretOptions.secrets())
        : new RestoreDrill(repository, choice.plan, PostgresUrl.parse(scratch), choice.selector(),
            secretOptions.secrets()).run();
    Audit.record(repository, "drill", choice.plan + "/" + report.backupId(), report.passed() ? "ok" : "failed",
        java.util.Map.of("restoreMillis", report.restoreMillis(), "rowsChecked", report.rowsChecked()));
    if (json) {
      System.out.println(Format.json(report));
    } else {
      System.out.printf("drill of backup %s (%s): %s — %s, restore took %.1f s%n", report.backupId(), choice.plan,
          report.passed() ? "PASSED" : "FAILED", pgdata != null ? report.detail()
              : report.tablesChecked() + " tables, " + report.rowsChecked() + " rows checked",
          report.restoreMillis() / 1000.0);
    }
    if (!report.passed()) {
      throw new Main.VerificationFailedException("drill of backup " + report.backupId() + " failed: " + report.detail());
    }
    return Main.OK;
  }

  /** Drill reports of a backup for {@code list --json}. */
  static List<RestoreDrill.Report> reportsFor(Repository repository, Manifest m) throws IOException {
    return RestoreDrill.reports(repository, m);
  }
}
