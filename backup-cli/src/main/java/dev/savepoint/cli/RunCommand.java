package dev.savepoint.cli;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.operations.LockProvider;
import dev.savepoint.core.operations.Scheduler;
import dev.savepoint.postgres.PostgresLockProvider;
import dev.savepoint.postgres.PostgresUrl;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "run", description = "Run plans from a plan file: once (the default, for cron jobs and "
    + "Kubernetes CronJobs), or on their schedules with --schedule until stopped (SIGTERM waits for running "
    + "backups up to --grace).")
final class RunCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, paramLabel = "<file>", description = "Plan file (YAML or JSON).")
  Path config;

  @Option(names = "--plan", description = "Only this plan (default: every plan in the file).")
  String plan;

  @Option(names = "--schedule", description = "Stay running and run each plan on its cron schedule.")
  boolean schedule;

  @Option(names = "--lock-url", paramLabel = "<postgresql-url>",
      description = "Share locks through PostgreSQL advisory locks so only one replica runs each slot.")
  String lockUrl;

  @Option(names = "--grace", defaultValue = "PT5M", description = "On shutdown, how long running backups may finish.")
  Duration grace;

  @Option(names = "--json", description = "Print each plan's outcome as JSON (one-shot runs).")
  boolean json;

  /** One plan's outcome in a one-shot run: {@code exit} is the exit code its failure alone would have. */
  record Outcome(String plan, String status, String backupId, List<String> pruned, String error, int exit) {}

  @Override
  public Integer call() throws Exception {
    List<PlanFile.PlanSpec> specs = PlanFile.read(config).stream()
        .filter(p -> plan == null || p.name().equals(plan)).toList();
    if (specs.isEmpty()) {
      throw new IllegalArgumentException("plan '" + plan + "' is not in " + config);
    }
    if (!schedule) {
      return runOnce(specs);
    }
    LockProvider locks = lockUrl == null ? LockProvider.inProcess() : new PostgresLockProvider(PostgresUrl.parse(lockUrl));
    Scheduler scheduler = new Scheduler(locks);
    for (PlanFile.PlanSpec spec : specs) {
      if (spec.schedule() == null) {
        throw new IllegalArgumentException("plan '" + spec.name() + "' has no schedule");
      }
      // Each slot does what a one-shot run does for the plan: back up, audit, print, apply retention.
      scheduler.schedule(PlanFile.build(spec), spec.schedule(), spec.zone() == null ? ZoneOffset.UTC
          : ZoneId.of(spec.zone()), built -> runPlan(spec, built));
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> scheduler.close(grace)));
    // SIGTERM (systemd, Kubernetes) and Ctrl-C are the way to stop it: a graceful stop, then exit 0, not the JVM's 143.
    for (String signal : List.of("TERM", "INT")) {
      sun.misc.Signal.handle(new sun.misc.Signal(signal), received -> new Thread(() -> scheduler.close(grace),
          "savepoint-stop").start());
    }
    scheduler.start();
    System.err.printf("scheduling %d plan(s); stop with SIGTERM%n", specs.size());
    scheduler.awaitClose();
    return Main.OK;
  }

  /**
   * Attempts every plan, whatever happened to the ones before it (cron and Kubernetes CronJobs run this unattended:
   * one plan's failure must not silently cost the others their backups); prints a line per plan, every backup
   * retention deleted, and a summary; exits with the worst outcome (3 integrity over 1 failure over 2 configuration).
   */
  private int runOnce(List<PlanFile.PlanSpec> specs) {
    List<Outcome> outcomes = new java.util.ArrayList<>();
    for (PlanFile.PlanSpec spec : specs) {
      Outcome outcome;
      try {
        outcome = runPlan(spec, PlanFile.build(spec));
      } catch (Exception e) {
        outcome = failed(spec, null, e); // the plan file's entry could not be built (a missing key, say)
      }
      outcomes.add(outcome);
    }
    if (json) {
      System.out.println(Format.json(outcomes));
    } else {
      long failed = outcomes.stream().filter(o -> o.exit() != Main.OK).count();
      System.out.printf("%d of %d plan(s) backed up%s%n", outcomes.size() - failed, outcomes.size(), failed == 0 ? ""
          : "; FAILED: " + String.join(", ", outcomes.stream().filter(o -> o.exit() != Main.OK).map(Outcome::plan)
              .toList()));
    }
    return outcomes.stream().map(Outcome::exit).max(java.util.Comparator.comparingInt(BY_SEVERITY::indexOf))
        .orElse(Main.OK);
  }

  /**
   * One plan, the same whether run once or on its schedule: back up (audited), print the backup, and apply the
   * plan's retention only when its plan file says {@code pruneOnRun: true} (every deletion printed and audited).
   * Never throws: a failure is the outcome, printed as one line.
   */
  private Outcome runPlan(PlanFile.PlanSpec spec, BackupPlan p) {
    String backupId = null;
    try {
      Repository repository = p.repository();
      boolean pruneOnRun = spec.retention() != null && Boolean.TRUE.equals(spec.retention().pruneOnRun());
      java.util.Optional<Manifest> before = pruneOnRun ? repository.newest(spec.name()) : java.util.Optional.empty();
      Manifest m = Audit.backup(repository, spec.name(), () -> p.run().manifest());
      backupId = m.id();
      if (!json) {
        System.out.printf("backup %s of plan '%s' complete: %s stored%n", m.id(), m.plan(),
            Format.bytes(m.storedBytes()));
      }
      List<String> pruned = List.of();
      // A backup a tenth the size of the one before (an empty or unmounted source, a truncated table) must not be
      // what retention keeps in place of the backups that held the data.
      boolean shrank = before.isPresent() && payload(m) < payload(before.get()) / 10;
      if (shrank) {
        System.err.printf("savepoint: warning: retention of plan '%s' not applied: backup %s holds %s, under a tenth "
            + "of the %s before it (an empty or unmounted source?); check it, then prune%n", spec.name(), m.id(),
            Format.bytes(payload(m)), Format.bytes(payload(before.get())));
      } else if (pruneOnRun && pruneNeedsApprovals(repository)) {
        System.err.printf("savepoint: warning: retention of plan '%s' not applied: the repository's approval policy "
            + "requires approvals to prune (savepoint prune --plan %s … --approval <id>)%n", spec.name(), spec.name());
      } else if (pruneOnRun) {
        pruned = repository.prune(spec.name(), spec.retention().toRetention(spec.rpo()), false, Duration.ofHours(6))
            .stream().filter(v -> !v.keep()).map(v -> v.backup().id()).toList();
        for (String id : pruned) {
          if (!json) {
            System.out.printf("retention of plan '%s' deleted backup %s%n", spec.name(), id);
          }
        }
        Audit.record(repository, "prune", spec.name(), "ok", Map.of("deleted", pruned.size(), "backups", pruned));
      } else if (spec.retention() != null && !json) {
        System.out.printf("retention of plan '%s' not applied: run never deletes unless its retention says "
            + "pruneOnRun: true%n", spec.name());
      }
      return new Outcome(spec.name(), "ok", backupId, pruned, null, Main.OK);
    } catch (Exception e) {
      return failed(spec, backupId, e);
    }
  }

  /** Whether the repository's approval policy binds prunes: then nothing unattended deletes backups. */
  private static boolean pruneNeedsApprovals(Repository repository) throws java.io.IOException {
    try {
      return Approvals.policy(repository).map(p -> p.required(dev.savepoint.core.security.ApprovalPolicy.Operation.PRUNE) > 0)
          .orElse(false);
    } catch (dev.savepoint.core.ApprovalException e) {
      return true; // a host that pins policy admins and finds no policy of theirs: nothing is deleted unattended
    }
  }

  /** What a backup holds of its source: a directory's file bytes (its tar pads even an empty folder), else raw bytes. */
  private static long payload(Manifest m) {
    return m.source().facts().get("fileBytes") instanceof Number n ? n.longValue() : m.rawBytes();
  }

  private static Outcome failed(PlanFile.PlanSpec spec, String backupId, Exception e) {
    System.err.printf("savepoint: plan '%s' %s: %s%n", spec.name(), backupId == null ? "failed" : "backed up, but "
        + "its retention failed", Main.message(e));
    return new Outcome(spec.name(), backupId == null ? "failed" : "backed up, retention failed", backupId, List.of(),
        Main.message(e), Main.exitCode(e));
  }

  /** Exit codes from least to most severe: a broken backup outranks a failed one, which outranks a typo. */
  private static final List<Integer> BY_SEVERITY = List.of(Main.OK, Main.USAGE, Main.FAILED, Main.INTEGRITY);
}
