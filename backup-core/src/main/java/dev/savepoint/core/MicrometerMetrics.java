package dev.savepoint.core;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publishes backup metrics to Micrometer (an optional dependency: add {@code micrometer-core} to use this).
 * Register it as a {@link Notifier} on each plan. Meters, all tagged {@code plan}:
 * {@code savepoint.backup.duration} (timer), {@code savepoint.backup.bytes.raw} and
 * {@code savepoint.backup.bytes.stored} (counters), {@code savepoint.backup.failures} (counter),
 * {@code savepoint.backup.last.success} (gauge, epoch seconds) and {@code savepoint.backup.last.success.age}
 * (gauge, seconds since the last verified backup: the health signal to alert on; NaN before the first).
 */
public final class MicrometerMetrics implements Notifier {
  private final MeterRegistry registry;
  private final Map<String, AtomicLong> lastSuccess = new ConcurrentHashMap<>();

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
      default -> { }
    }
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
