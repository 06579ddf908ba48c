package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import dev.savepoint.core.security.RestoreApprovals;
import dev.savepoint.report.PriceTable;
import dev.savepoint.report.StatusPage;
import dev.savepoint.report.StatusReport;
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

  @Option(names = "--html", paramLabel = "<file>", description = "Also write a self-contained status page: what needs "
      + "attention with the command for each; per plan a timeline of backups on a time axis with the RPO (--max-age or "
      + "the plan file's rpo) and every stretch that breached it, recoverable windows, restore drill times against "
      + "--rto; storage and its monthly cost (--prices).")
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

  @Option(names = "--prices", paramLabel = "<prices.json>", description = "Price table for the cost estimate: the "
      + "built-in one (AWS S3 and Google Cloud Storage list prices, docs/operations.md) with this file's classes and "
      + "plan-to-class mapping on top.")
  java.nio.file.Path prices;

  @Option(names = "--zone", paramLabel = "<zone>", description = "Time zone the status page shows times in where the "
      + "plan file names none (default: this machine's).")
  java.time.ZoneId zone;

  @Override
  public Integer call() throws Exception {
    // With the plan's key, only what it signs counts (a planted backup cannot make an overdue plan look current).
    Repository repository = repo.open(secretOptions.secrets());
    if (!repository.authenticated()) {
      System.err.println("savepoint: warning: " + repository.describe() + " is read without a key: backups and drill "
          + "reports anyone could have written count (give --passphrase-env or --manifest-hmac-env)");
    }
    RepositoryOptions.warnStrays(repository);
    // The commands the report suggests reach this repository as this report did: its --repo and key options.
    List<String> repoOptions = new ArrayList<>(List.of("--repo", Uris.redact(repo.repo)));
    repoOptions.addAll(repo.trust.commandLine());
    repoOptions.addAll(secretOptions.commandLine());
    StatusReport.Options options = new StatusReport.Options();
    try {
      options.maxAge(maxAge).verifyEvery(verifyEvery).drillEvery(drillEvery).maxWalAge(maxWalAge).rto(rto);
    } catch (IllegalArgumentException e) {
      throw new dev.savepoint.core.ConfigurationException(e.getMessage());
    }
    options.repositoryOptions(String.join(" ", repoOptions.stream().map(ReportCommand::shellWord).toList()))
        .prices(prices == null ? PriceTable.defaults() : PriceTable.defaultsWith(prices));
    if (zone != null) {
      options.zone(zone);
    }
    if (config != null) {
      options.planFile(shellWord(config.toString()));
      for (PlanFile.PlanSpec s : PlanFile.read(config)) {
        if (!sameRepository(s.repository(), repo.repo)) {
          // Reported against its own repository: here it would be "no backup at all", which is not true.
          System.err.println("savepoint: plan '" + s.name() + "' of " + config + " backs up into "
              + Uris.redact(s.repository()) + ", not this repository: not in this report");
          continue;
        }
        options.plan(s.name(), new StatusReport.Cadence(s.rpo(), s.verifyEvery(), s.drillEvery(),
            s.zone() == null ? null : java.time.ZoneId.of(s.zone())));
      }
    }
    StatusReport report = StatusReport.of(repository, options, Instant.now());
    List<Map<String, Object>> rows = new ArrayList<>();
    for (StatusReport.PlanStatus p : report.plans()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("plan", p.plan());
      row.put("backups", p.backups().size());
      row.put("storedBytes", p.storedBytes());
      row.put("newestBackup", p.newest().map(b -> b.startedAt().toString()).orElse(null));
      row.put("lastPassedDrill", p.lastPassedDrill().map(Instant::toString).orElse(null));
      row.put("lastVerified", p.lastVerified() == null ? null : p.lastVerified().toString());
      if (!p.windows().isEmpty()) {
        StatusReport.Window w = p.windows().get(p.windows().size() - 1); // the newest timeline: what a restore follows
        // A clock a little behind the server's would make it "-1.4 s old": never younger than now.
        long walAge = Math.max(0, Duration.between(w.to(), report.now()).toSeconds());
        row.put("recoverableFrom", w.from().toString());
        row.put("recoverableTo", w.to().toString());
        row.put("walAgeSeconds", walAge);
        if (!json) {
          System.out.printf("%-20s recoverable from %s to %s (newest durable WAL %d s old)%n", p.plan(), w.from(),
              w.to(), walAge);
        }
      }
      StatusReport.Cost c = p.cost();
      row.put("cost", c.priced() ? Map.of("storageClass", c.storageClass(), "bytes", c.bytes(), "perMonth",
          c.perMonth(), "storagePerMonth", c.storagePerMonth(), "putsPerMonth", c.putsPerMonth(), "requestsPerMonth",
          c.requestsPerMonth(), "retrievalPerRestore", c.retrievalPerRestore(), "thawHours", c.thawHours(),
          "currency", report.currency()) : null);
      rows.add(row);
      if (!json) {
        System.out.printf("%-20s %5d backup(s) %10s  newest %s  last passed drill %s%s%n", p.plan(), p.backups().size(),
            Format.bytes(p.storedBytes()), p.newest().map(b -> b.startedAt().toString()).orElse("none"),
            p.lastPassedDrill().map(Instant::toString).orElse("never"), c.priced()
                ? String.format(java.util.Locale.ROOT, "  ~%.2f %s/month (%s)", c.perMonth(), report.currency(),
                    c.storageClass()) : "");
      }
    }
    if (html != null) {
      java.nio.file.Files.writeString(html, StatusPage.render(report));
      System.err.println("status page written to " + html);
    }
    List<String> overdue = report.attention().stream().map(StatusReport.Attention::text).toList();
    if (json) {
      List<Map<String, Object>> attention = new ArrayList<>();
      for (StatusReport.Attention a : report.attention()) {
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("plan", a.plan());
        item.put("message", a.message());
        item.put("command", a.command());
        attention.add(item);
      }
      System.out.println(Format.json(Map.of("plans", rows, "overdue", overdue, "attention", attention)));
    } else {
      // Escaped: a drill report's detail is written by whoever wrote the repository, and must not paint lines here.
      report.attention().forEach(a -> System.out.println("OVERDUE " + RestoreApprovals.printable(a.text())
          + "\n        fix: " + RestoreApprovals.printable(a.command())));
    }
    if (!overdue.isEmpty()) {
      throw new Main.VerificationFailedException(overdue.size() + " item(s) overdue: " + String.join("; ", overdue));
    }
    return Main.OK;
  }

  /** Whether a plan file's repository is the one given with --repo (the same URI, a trailing slash aside). */
  private static boolean sameRepository(String planRepository, String given) {
    return planRepository.replaceAll("/+$", "").equals(given.replaceAll("/+$", ""));
  }

  /** {@code word} as a shell reads it back: quoted where it holds anything but safe characters. */
  static String shellWord(String word) {
    return word.matches("[A-Za-z0-9_@%+=:,./-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
  }
}
