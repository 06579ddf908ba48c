package dev.savepoint.cli;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "list", description = "List complete backups (those with a manifest), oldest first.")
final class ListCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Option(names = "--plan", description = "Only this plan (default: every plan).")
  String plan;

  @Option(names = "--at", paramLabel = "<ISO time>", description = "Only the backup a restore --at this time would "
      + "use: per plan, the newest complete backup taken at or before it.")
  String at;

  @Option(names = "--json", description = "Print a JSON array of backups.")
  boolean json;

  @picocli.CommandLine.Mixin
  SecretOptions secretOptions;

  @Override
  public Integer call() throws Exception {
    // With the plan's key, backups it does not sign are listed as DAMAGED (planted, or written before signing).
    Repository repository = repo.open(secretOptions.secrets());
    RepositoryOptions.warnStrays(repository);
    List<String> plans = plan != null ? List.of(plan) : repository.plans();
    if (plan != null) {
      RepositoryOptions.requirePlan(repository, plan);
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    // Printed once everything is read: a failure prints only its error, no header without rows.
    List<String> lines = new ArrayList<>();
    lines.add(String.format("%-20s %-26s %-8s %10s %10s  %s", "PLAN", "BACKUP", "TIER", "RAW", "STORED", "SOURCE"));
    dev.savepoint.core.BackupSelector asOf = at == null ? null : dev.savepoint.core.BackupSelector.atOrBefore(
        Format.instant("--at", at));
    for (String p : plans) {
      List<Manifest> listed;
      if (asOf == null) {
        listed = repository.list(p);
      } else {
        try {
          listed = List.of(repository.select(p, asOf));
        } catch (dev.savepoint.core.BackupNotFoundException none) {
          if (plan != null) {
            throw none;
          }
          listed = List.of(); // this plan has none that old
        }
      }
      for (Manifest m : listed) {
        Map<String, Object> row = BackupCommand.summary(m);
        row.put("drills", DrillCommand.reportsFor(repository, m));
        rows.add(row);
        lines.add(String.format("%-20s %-26s %-8s %10s %10s  %s", m.plan(), m.id(), m.tier() == null ? "-" : m.tier(),
            Format.bytes(m.rawBytes()), Format.bytes(m.storedBytes()), m.source().type()));
      }
      for (Repository.Damaged d : asOf == null ? repository.damaged(p) : List.<Repository.Damaged>of()) {
        Map<String, Object> row = new java.util.LinkedHashMap<>();
        row.put("plan", d.plan());
        row.put("id", d.id());
        row.put("damaged", d.reason());
        rows.add(row);
        lines.add(String.format("%-20s %-26s DAMAGED: %s (savepoint delete --quarantine)", d.plan(), d.id(),
            d.reason()));
      }
    }
    if (json) {
      System.out.println(Format.json(rows));
    } else {
      lines.forEach(System.out::println);
      System.out.println("repository id: " + repository.id().orElse("none")
          + (repository.authenticated() ? "" : "; not authenticated: give the plan's key to check signatures"));
    }
    return Main.OK;
  }
}
