package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "cleanup", description = "Remove the remains of backups that never got a manifest (killed or failed runs) and "
    + "incomplete writes (temporary files, S3 multipart uploads); with --to, also the scratch databases that killed "
    + "restores of that database left on its server.")
final class CleanupCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Option(names = "--plan", description = "Only this plan (default: every plan).")
  String plan;

  @Option(names = "--min-age", defaultValue = "PT6H", paramLabel = "<ISO duration>",
      description = "Only remains older than this, so running backups are not touched (default: ${DEFAULT-VALUE}).")
  Duration minAge;

  @Option(names = "--dry-run", description = "Only show what would be removed.")
  boolean dryRun;

  @Option(names = "--to", paramLabel = "<postgresql://…/db>", description = "Also drop the scratch databases "
      + "(<db>_sp<hex>) of restores of this database that were killed: no live restore holds its lease, no session, "
      + "begun longer than --min-age ago; --dry-run lists them with their size.")
  String to;

  @Override
  public Integer call() throws Exception {
    Repository repository = repo.open();
    RepositoryOptions.warnStrays(repository);
    if (plan != null) {
      RepositoryOptions.requirePlan(repository, plan);
    }
    List<String> plans = plan != null ? List.of(plan) : repository.plans();
    for (String p : plans) {
      List<String> old = repository.orphans(p, minAge);
      for (String id : old) {
        System.out.printf("%s %s/%s (no manifest)%n", dryRun ? "would remove" : "removing", p, id);
      }
      int young = repository.orphans(p, Duration.ZERO).size() - old.size();
      if (young > 0) {
        System.out.printf("left %d backup(s) of plan '%s' without a manifest younger than %s alone (they may still "
            + "be running); --min-age PT0S removes them too%n", young, p, minAge);
      }
      if (!dryRun) {
        repository.deleteOrphans(p, minAge);
      }
    }
    if (to != null) {
      dev.savepoint.postgres.PostgresUrl url = dev.savepoint.postgres.PostgresUrl.parse(to);
      var scratch = dryRun ? dev.savepoint.postgres.PostgresTarget.abandonedScratch(url, minAge)
          : dev.savepoint.postgres.PostgresTarget.dropAbandonedScratch(url, minAge);
      for (var s : scratch) {
        System.out.printf("%s scratch database %s (%s) of a killed restore of %s%n", dryRun ? "would drop"
            : "dropped", s.name(), Format.bytes(s.bytes()), Uris.redact(to));
      }
    }
    if (!dryRun) {
      int incomplete = repository.store().cleanupIncomplete(minAge);
      if (incomplete > 0) {
        System.out.printf("removed %d incomplete write(s) (temporary files, multipart uploads)%n", incomplete);
      }
    }
    return Main.OK;
  }
}
