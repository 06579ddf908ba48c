package dev.savepoint.core.operations;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import dev.savepoint.core.BackupPlan;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link BackupPlan}s on cron schedules, safely when every replica of an application embeds one:
 *
 * <ul>
 *   <li>a run first takes the plan's lock from the {@link LockProvider} (e.g. a PostgreSQL advisory lock);
 *       a replica that does not get it skips the run, so runs of one plan never overlap;
 *   <li>holding the lock, it skips the run if a backup already started at or after the scheduled time
 *       (another replica did this slot), so each slot produces exactly one backup;
 *   <li>on {@link #start()}, a plan whose newest backup is older than its RPO (or that has none) runs once at
 *       once, catching up runs missed while the application was down;
 *   <li>for plans with an RPO, the {@link RpoMonitor} runs every quarter of the RPO (at most every 15
 *       minutes) and tells the plan's notifiers once per breach.
 * </ul>
 *
 * Cron expressions use cron-utils: five fields (Unix: minute hour day month weekday) or six (Spring, with
 * seconds first), evaluated in the given time zone. A malformed expression is an
 * {@link IllegalArgumentException} naming it.
 */
public final class Scheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

  private record Entry(BackupPlan plan, ExecutionTime schedule, ZoneId zone, String expression, Job job) {}

  /** What a slot runs: {@link BackupPlan#run()}, or the caller's own work around it (retention, audit, logging). */
  @FunctionalInterface
  public interface Job {
    void run(BackupPlan plan) throws IOException;
  }

  private final LockProvider locks;
  private final List<Entry> entries = new ArrayList<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      dev.savepoint.core.internal.DaemonThreads.named("savepoint-scheduler-timer"));
  private final ExecutorService runs = Executors.newCachedThreadPool(
      dev.savepoint.core.internal.DaemonThreads.named("savepoint-scheduler-run"));
  private volatile boolean started;
  private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);

  public Scheduler(LockProvider locks) {
    this.locks = Objects.requireNonNull(locks);
  }

  /**
   * Checks a cron expression (5 fields Unix, 6 fields with seconds): an {@link IllegalArgumentException} names
   * what is wrong.
   */
  public static void validateCron(String expression) {
    parseCron(expression);
  }

  /** When a plan on {@code cron} next runs after {@code after}, if ever. */
  public static Optional<ZonedDateTime> nextRun(String cron, ZonedDateTime after) {
    return parseCron(cron).nextExecution(after);
  }

  static ExecutionTime parseCron(String expression) {
    String trimmed = expression == null ? "" : expression.trim();
    int fields = trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
    if (fields != 5 && fields != 6) {
      throw new IllegalArgumentException("invalid cron expression '" + expression + "': it has " + fields
          + " fields; use 5 (minute hour day-of-month month day-of-week, e.g. '0 * * * *' for hourly) or 6 with "
          + "seconds first");
    }
    CronType type = fields == 6 ? CronType.SPRING : CronType.UNIX;
    try {
      Cron cron = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(type)).parse(trimmed);
      return ExecutionTime.forCron(cron.validate());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid cron expression '" + expression + "': " + e.getMessage()
          + " (use 5 fields, e.g. '0 * * * *' for hourly, or 6 with seconds first)", e);
    }
  }

  /** Adds a plan; call before {@link #start()}. */
  public synchronized Scheduler schedule(BackupPlan plan, String cron, ZoneId zone) {
    return schedule(plan, cron, zone, BackupPlan::run);
  }

  /** Adds a plan whose slots run {@code job} (under the plan's lock, once per slot); call before {@link #start()}. */
  public synchronized Scheduler schedule(BackupPlan plan, String cron, ZoneId zone, Job job) {
    if (started) {
      throw new IllegalStateException("schedule plans before start()");
    }
    entries.add(new Entry(plan, parseCron(cron), zone, cron, job));
    return this;
  }

  /** Catches up plans whose RPO is at risk, then runs every plan on its schedule. */
  public synchronized void start() {
    started = true;
    for (Entry e : entries) {
      if (rpoAtRisk(e.plan)) {
        log.info("plan '{}': newest backup is older than its RPO, running once now", e.plan.name());
        runs.submit(() -> runSlot(e, "catch-up", () -> !rpoAtRisk(e.plan)));
      }
      scheduleNext(e);
      Duration rpo = e.plan.rpo();
      if (rpo != null) {
        long every = Math.max(1, Math.min(rpo.toMillis() / 4, Duration.ofMinutes(15).toMillis()));
        boolean[] breached = {false};
        timer.scheduleAtFixedRate(() -> checkRpo(e.plan, rpo, breached), every, every, TimeUnit.MILLISECONDS);
      }
    }
  }

  /** Notifies a breach once, and again only after the plan has recovered. */
  private static void checkRpo(BackupPlan plan, Duration rpo, boolean[] breached) {
    try {
      Optional<Event> breach = RpoMonitor.check(plan.repository(), plan.name(), rpo, Instant.now());
      if (breach.isPresent() && !breached[0]) {
        plan.notifier().notify(breach.get());
      }
      breached[0] = breach.isPresent();
    } catch (IOException | RuntimeException ex) {
      log.warn("plan '{}': RPO check failed: {}", plan.name(), ex.getMessage());
    }
  }

  private boolean rpoAtRisk(BackupPlan plan) {
    if (plan.rpo() == null) {
      return false;
    }
    try {
      return RpoMonitor.check(plan.repository(), plan.name(), plan.rpo(), Instant.now()).isPresent();
    } catch (IOException e) {
      log.warn("plan '{}': cannot check the RPO at start-up: {}", plan.name(), e.getMessage());
      return false;
    }
  }

  private void scheduleNext(Entry e) {
    if (timer.isShutdown()) {
      return;
    }
    ZonedDateTime now = ZonedDateTime.now(e.zone);
    Optional<ZonedDateTime> next = e.schedule.nextExecution(now);
    if (next.isEmpty()) {
      return;
    }
    long delay = Duration.between(now, next.get()).toMillis();
    Instant slot = next.get().toInstant();
    timer.schedule(() -> {
      runs.submit(() -> runSlot(e, slot.toString(), () -> slotDone(e.plan, slot)));
      scheduleNext(e);
    }, Math.max(0, delay), TimeUnit.MILLISECONDS);
  }

  /** True if a backup started at or after {@code slot}: another replica already ran this slot. */
  private static boolean slotDone(BackupPlan plan, Instant slot) throws IOException {
    return plan.repository().newest(plan.name()).map(m -> !m.startedAt().isBefore(slot)).orElse(false);
  }

  @FunctionalInterface
  private interface Check {
    boolean test() throws IOException;
  }

  /** One run: lock, skip if {@code done} says the work is covered, back up. Never throws. */
  private void runSlot(Entry e, String slot, Check done) {
    String plan = e.plan.name();
    boolean started = false;
    try {
      Optional<LockProvider.Lock> lock = locks.tryLock("savepoint-plan:" + plan);
      if (lock.isEmpty()) {
        log.info("plan '{}': run at {} skipped, another run holds the lock", plan, slot);
        return;
      }
      try (LockProvider.Lock held = lock.get()) {
        if (done.test()) {
          log.info("plan '{}': run {} already done by another replica", plan, slot);
          return;
        }
        started = true;
        e.job.run(e.plan);
      }
    } catch (IOException | RuntimeException ex) {
      log.warn("plan '{}': scheduled run at {} failed: {}", plan, slot, ex.getMessage());
      if (!started) {
        // The backup never began (the lock's database is down, the repository cannot be listed): a failed backup
        // all the same, for the metrics, the alerts and the notifiers — the backup itself reports its own failures.
        try {
          e.plan.notifier().notify(new Event(Event.Type.BACKUP_FAILED, plan, null, java.time.Instant.now(),
              "scheduled run at " + slot + " could not start: " + ex.getMessage(),
              Map.of("error", ex.getClass().getSimpleName(), "stage", "schedule")));
        } catch (IOException | RuntimeException notified) {
          log.warn("plan '{}': the failure could not be notified: {}", plan, notified.getMessage());
        }
      }
    }
  }

  /**
   * Blocks the calling thread until {@link #close} is called (from a shutdown hook, say): the scheduler's own
   * threads are daemon threads, so that an application embedding it never stays up because of them — a plain
   * {@code main} that only runs backups calls this last. Returns at once if the scheduler is closed, or when the
   * calling thread is interrupted (its interrupt flag set again).
   */
  public void awaitClose() {
    try {
      closed.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Stops scheduling and waits up to {@code grace} for running backups; then interrupts them (an interrupted
   * backup fails and writes no manifest). Returns true if everything finished within the grace period. An
   * interrupt of the calling thread cuts the wait short (and is kept in its interrupt flag).
   */
  public boolean close(Duration grace) {
    timer.shutdownNow();
    runs.shutdown();
    try {
      if (runs.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        return true;
      }
      runs.shutdownNow();
      runs.awaitTermination(30, TimeUnit.SECONDS);
      return false;
    } catch (InterruptedException e) {
      runs.shutdownNow();
      Thread.currentThread().interrupt();
      return false;
    } finally {
      closed.countDown();
    }
  }

  /** {@link #close(Duration)} with a grace period of one minute. */
  @Override
  public void close() {
    close(Duration.ofMinutes(1));
  }
}
