package dev.savepoint.spring;

import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Repository;
import dev.savepoint.core.operations.LockProvider;
import dev.savepoint.core.operations.Notifier;
import dev.savepoint.core.operations.Scheduler;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.RestoreDrill;
import java.io.IOException;
import java.time.ZoneId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the scheduled plans while the application runs: started with the context, and on shutdown it stops
 * scheduling and lets running backups finish for {@code savepoint.shutdown-grace}. A repository that cannot be
 * read at start-up is logged (and shows in the health indicator) unless {@code savepoint.fail-on-startup-error}.
 */
public final class SavepointScheduler implements SmartLifecycle {
  private static final Logger log = LoggerFactory.getLogger(SavepointScheduler.class);

  private final SavepointPlans plans;
  private final Repository repository;
  private final Scheduler scheduler;
  private final LockProvider locks;
  private final Notifier notifier;
  private final java.util.concurrent.ScheduledExecutorService drills =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          dev.savepoint.core.internal.DaemonThreads.named("savepoint-drills"));
  private volatile boolean running;

  SavepointScheduler(SavepointPlans plans, Repository repository, LockProvider locks, Notifier notifier) {
    this.plans = plans;
    this.repository = repository;
    this.scheduler = new Scheduler(locks);
    this.locks = locks;
    this.notifier = notifier;
    plans.properties().getPlans().forEach((name, spec) -> {
      if (spec.getSchedule() != null) {
        scheduler.schedule(plans.get(name).orElseThrow(), spec.getSchedule(), ZoneId.of(spec.getZone()),
            plan -> plans.run(plan.name()));
      }
    });
  }

  /** Schedules the plan's next drill at its cron time (in the plan's zone). */
  private void scheduleDrill(String plan, SavepointProperties.Plan spec, String schedule) {
    java.time.ZonedDateTime now = java.time.ZonedDateTime.now(ZoneId.of(spec.getZone()));
    Scheduler.nextRun(schedule, now).ifPresent(next -> drills.schedule(() -> {
      drill(plan, spec);
      scheduleDrill(plan, spec, schedule);
    }, Math.max(0, java.time.Duration.between(now, next).toMillis()), java.util.concurrent.TimeUnit.MILLISECONDS));
  }

  /** One drill under the plan's drill lock (one replica drills), with the plan's own key. Never throws. */
  private void drill(String plan, SavepointProperties.Plan spec) {
    try {
      java.util.Optional<LockProvider.Lock> lock = locks.tryLock("savepoint-drill:" + plan);
      if (lock.isEmpty()) {
        return;
      }
      try (LockProvider.Lock held = lock.get()) {
        Repository planRepository = plans.get(plan).orElseThrow().repository(); // with the plan's own keys
        String server = spec.getDrill().getServer(); // checked at start-up where a drill is scheduled
        if (server == null) {
          throw new IllegalStateException("savepoint.plans." + plan + ".drill.server is not set");
        }
        RestoreDrill.Report report = new RestoreDrill(planRepository, plan, PostgresUrl.parse(server),
            BackupSelector.latest(), planRepository.secrets(), notifier).run();
        log.info("savepoint: drill of plan '{}' {}", plan, report.passed() ? "passed" : "FAILED: " + report.detail());
      }
    } catch (IOException | RuntimeException e) {
      log.warn("savepoint: drill of plan '{}' could not run: {}", plan, e.getMessage());
    }
  }

  @Override
  public void start() {
    try {
      repository.plans();
    } catch (IOException | RuntimeException e) {
      if (plans.properties().isFailOnStartupError()) {
        throw new IllegalStateException("savepoint.repository " + repository.describe() + " cannot be read: "
            + e.getMessage() + " (savepoint.fail-on-startup-error is set)", e);
      }
      log.warn("the backup repository {} cannot be read at start-up ({}); scheduling anyway", repository.describe(),
          e.getMessage());
    }
    scheduler.start();
    plans.walStreamers().forEach((name, streamer) -> {
      Thread t = new Thread(streamer, "savepoint-wal-" + name);
      t.setDaemon(true);
      t.start();
    });
    plans.properties().getPlans().forEach((name, spec) -> {
      String schedule = spec.getDrill().getSchedule();
      if (schedule != null) {
        scheduleDrill(name, spec, schedule);
      }
    });
    running = true;
    log.info("savepoint: scheduling {} plan(s) into {}", plans.properties().getPlans().values().stream()
        .filter(p -> p.getSchedule() != null).count(), repository.describe());
    plans.all().forEach((name, plan) -> {
      SavepointProperties.Plan spec = plans.properties().getPlans().get(name);
      if (plan.rpo() != null && (spec == null || spec.getSchedule() == null)) {
        log.warn("savepoint: plan '{}' has an RPO ({}) but no schedule (savepoint.plans.{}.schedule): it backs up "
            + "only when asked (SavepointPlans.run, POST /actuator/savepoint/{}), and its health will say so", name,
            plan.rpo(), name, name);
      }
    });
  }

  @Override
  public void stop() {
    drills.shutdownNow();
    plans.walStreamers().values().forEach(dev.savepoint.postgres.pitr.WalStreamer::close); // stores its partial
    scheduler.close(plans.properties().getShutdownGrace());
    running = false;
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
