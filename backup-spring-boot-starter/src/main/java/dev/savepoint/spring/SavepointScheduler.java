package dev.savepoint.spring;

import dev.savepoint.core.LockProvider;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Scheduler;
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
  private volatile boolean running;

  SavepointScheduler(SavepointPlans plans, Repository repository, LockProvider locks) {
    this.plans = plans;
    this.repository = repository;
    this.scheduler = new Scheduler(locks);
    plans.properties().getPlans().forEach((name, spec) -> {
      if (spec.getSchedule() != null) {
        scheduler.schedule(plans.get(name).orElseThrow(), spec.getSchedule(), ZoneId.of(spec.getZone()));
      }
    });
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
    running = true;
    log.info("savepoint: scheduling {} plan(s) into {}", plans.properties().getPlans().values().stream()
        .filter(p -> p.getSchedule() != null).count(), repository.describe());
  }

  @Override
  public void stop() {
    scheduler.close(plans.properties().getShutdownGrace());
    running = false;
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
