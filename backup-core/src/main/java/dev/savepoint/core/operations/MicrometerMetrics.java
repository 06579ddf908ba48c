package dev.savepoint.core.operations;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Publishes backup metrics to Micrometer (an optional dependency: add {@code micrometer-core} to use this).
 * Register it as a {@link Notifier} on each plan. Meters, all tagged {@code plan}:
 * {@code savepoint.backup.duration} (timer), {@code savepoint.backup.bytes.raw} and
 * {@code savepoint.backup.bytes.stored} (counters), {@code savepoint.backup.failures} (counter),
 * {@code savepoint.backup.last.success} (gauge, epoch seconds) and {@code savepoint.backup.last.success.age}
 * (gauge, seconds since the last verified backup: the health signal to alert on; NaN before the first);
 * {@code savepoint.drill.last.success} (gauge, epoch seconds of the last passed drill) and
 * {@code savepoint.drill.failures} (counter); {@link #rpo} adds {@code savepoint.plan.rpo} (seconds) and
 * {@link #walDurableAge} {@code savepoint.wal.durable.age} (seconds) for point-in-time plans, {@link #walStreamer}
 * that and the streamer's connection, retries, position and timeline. The alert rules
 * shipped in {@code docs/alerts/savepoint-rules.yml} use these names.
 */
public final class MicrometerMetrics implements Notifier {
  private final MeterRegistry registry;
  private final Map<String, AtomicLong> lastSuccess = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> lastDrill = new ConcurrentHashMap<>();

  public MicrometerMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void notify(Event e) {
    String plan = e.plan();
    switch (e.type()) {
      case BACKUP_SUCCEEDED -> {
        Timer.builder("savepoint.backup.duration").tag("plan", plan).register(registry)
            .record(Duration.ofMillis(number(e, "durationMillis")));
        Counter.builder("savepoint.backup.bytes.raw").tag("plan", plan).baseUnit("bytes").register(registry)
            .increment(number(e, "rawBytes"));
        Counter.builder("savepoint.backup.bytes.stored").tag("plan", plan).baseUnit("bytes").register(registry)
            .increment(number(e, "storedBytes"));
        gauges(plan).set(e.time().getEpochSecond());
      }
      case BACKUP_FAILED -> Counter.builder("savepoint.backup.failures").tag("plan", plan).register(registry).increment();
      case DRILL_PASSED -> drillGauge(plan).set(e.time().getEpochSecond());
      case DRILL_FAILED -> Counter.builder("savepoint.drill.failures").tag("plan", plan).register(registry).increment();
      default -> { }
    }
  }

  /**
   * Registers a plan's meters when the process starts, so that alerts hold across restarts: the failure counters at 0
   * (a first failure is then an increase a rule sees), and the last success as the repository holds it — the newest
   * complete backup's finish ({@code null}: none, published as 0, so the RPO alert fires for a plan that never backed
   * up rather than staying silent until this process backs up).
   */
  public MicrometerMetrics plan(String plan, @Nullable Instant lastSuccess) {
    Counter.builder("savepoint.backup.failures").tag("plan", plan).register(registry);
    Counter.builder("savepoint.drill.failures").tag("plan", plan).register(registry);
    long at = lastSuccess == null ? 0 : lastSuccess.getEpochSecond();
    gauges(plan).accumulateAndGet(at, Math::max); // a backup this process already took stays
    return this;
  }

  /**
   * Registers a drilled plan's drill meters when the process starts: the failure counter at 0 and the last passed
   * drill as the repository holds it ({@code null}: none, published as 0, so the drill-overdue alert fires for a plan
   * whose drills never passed rather than having nothing to evaluate).
   */
  public MicrometerMetrics drills(String plan, @Nullable Instant lastPassed) {
    Counter.builder("savepoint.drill.failures").tag("plan", plan).register(registry);
    drillGauge(plan).accumulateAndGet(lastPassed == null ? 0 : lastPassed.getEpochSecond(), Math::max);
    return this;
  }

  /** Publishes a plan's RPO ({@code savepoint.plan.rpo}, seconds): what the RPO alert compares the age with. */
  public MicrometerMetrics rpo(String plan, Duration rpo) {
    Gauge.builder("savepoint.plan.rpo", rpo, Duration::toSeconds).tag("plan", plan).baseUnit("seconds")
        .register(registry);
    return this;
  }

  /**
   * Publishes the age of a point-in-time plan's newest durable WAL ({@code savepoint.wal.durable.age}, seconds;
   * NaN before the first), e.g. {@code metrics.walDurableAge("trpg-cluster", streamer::lastDurableAt)}.
   */
  public MicrometerMetrics walDurableAge(String plan, java.util.function.Supplier<Instant> lastDurable) {
    Gauge.builder("savepoint.wal.durable.age", lastDurable, s -> s.get() == null ? Double.NaN
        : Duration.between(s.get(), Instant.now()).toMillis() / 1000.0).tag("plan", plan).baseUnit("seconds")
        .register(registry);
    return this;
  }

  /**
   * Publishes a WAL streamer's state, tagged {@code plan}: {@code savepoint.wal.durable.age} (as {@link
   * #walDurableAge}), {@code savepoint.wal.durable.lsn} (bytes: its rate is the archiving throughput),
   * {@code savepoint.wal.streamer.connected} (1 while streaming, else 0), {@code savepoint.wal.streamer.retries}
   * (counter: lost connections and repository errors retried) and {@code savepoint.wal.streamer.timeline}.
   */
  public MicrometerMetrics walStreamer(String plan, WalStreamStatus streamer) {
    walDurableAge(plan, streamer::lastDurableAt);
    Gauge.builder("savepoint.wal.durable.lsn", streamer, WalStreamStatus::durableLsn).tag("plan", plan)
        .baseUnit("bytes").register(registry);
    Gauge.builder("savepoint.wal.streamer.connected", streamer, s -> s.connected() ? 1 : 0).tag("plan", plan)
        .register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder("savepoint.wal.streamer.retries", streamer,
        WalStreamStatus::retries).tag("plan", plan).register(registry);
    Gauge.builder("savepoint.wal.streamer.timeline", streamer, WalStreamStatus::timeline).tag("plan", plan)
        .register(registry);
    return this;
  }

  private AtomicLong drillGauge(String plan) {
    return lastDrill.computeIfAbsent(plan, p -> {
      AtomicLong last = new AtomicLong(-1);
      Gauge.builder("savepoint.drill.last.success", last, a -> a.get() < 0 ? Double.NaN : a.get()).tag("plan", p)
          .register(registry);
      return last;
    });
  }

  private AtomicLong gauges(String plan) {
    return lastSuccess.computeIfAbsent(plan, p -> {
      AtomicLong last = new AtomicLong(-1);
      Gauge.builder("savepoint.backup.last.success", last, a -> a.get() < 0 ? Double.NaN : a.get())
          .tag("plan", p).register(registry);
      Gauge.builder("savepoint.backup.last.success.age", last,
              a -> a.get() < 0 ? Double.NaN : Instant.now().getEpochSecond() - a.get())
          .tag("plan", p).baseUnit("seconds").register(registry);
      return last;
    });
  }

  private static long number(Event e, String key) {
    Object v = e.details().get(key);
    return v instanceof Number n ? n.longValue() : 0;
  }
}
