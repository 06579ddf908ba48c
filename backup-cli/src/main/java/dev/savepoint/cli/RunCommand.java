package dev.savepoint.cli;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.LockProvider;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Scheduler;
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

  @Override
  public Integer call() throws Exception {
    List<PlanFile.PlanSpec> specs = PlanFile.read(config).stream()
        .filter(p -> plan == null || p.name().equals(plan)).toList();
    if (specs.isEmpty()) {
      throw new IllegalArgumentException("plan '" + plan + "' is not in " + config);
    }
    if (!schedule) {
      for (PlanFile.PlanSpec spec : specs) {
        BackupPlan p = PlanFile.build(spec);
        Repository repository = p.repository();
        Manifest m = Audit.backup(repository, spec.name(), () -> p.run().manifest());
        System.out.printf("backup %s of plan '%s' complete: %s stored%n", m.id(), m.plan(), Format.bytes(m.storedBytes()));
        if (spec.retention() != null) {
          long deleted = repository.prune(spec.name(), spec.retention().toRetention(spec.rpo()), false, Duration.ofHours(6))
              .stream().filter(v -> !v.keep()).count();
          Audit.record(repository, "prune", spec.name(), "ok", Map.of("deleted", deleted));
        }
      }
      return Main.OK;
    }
    LockProvider locks = lockUrl == null ? LockProvider.inProcess() : new PostgresLockProvider(PostgresUrl.parse(lockUrl));
    Scheduler scheduler = new Scheduler(locks);
    for (PlanFile.PlanSpec spec : specs) {
      if (spec.schedule() == null) {
        throw new IllegalArgumentException("plan '" + spec.name() + "' has no schedule");
      }
      scheduler.schedule(PlanFile.build(spec), spec.schedule(), spec.zone() == null ? ZoneOffset.UTC : ZoneId.of(spec.zone()));
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> scheduler.close(grace)));
    scheduler.start();
    System.err.printf("scheduling %d plan(s); stop with SIGTERM%n", specs.size());
    scheduler.awaitClose();
    return Main.OK;
  }
}
