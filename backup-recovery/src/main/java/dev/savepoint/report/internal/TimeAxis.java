package dev.savepoint.report.internal;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A time axis from {@code from} to {@code to} over {@code width} units: where an instant lies, and ticks at round
 * local times of {@code zone} (minutes, hours, midnights, Mondays, first days of months) — as many as fit
 * {@code maxTicks}, each labelled in the zone and carrying its UTC time for a tooltip.
 */
public final class TimeAxis {
  /** A tick: its position, its label in the axis's zone, and the same moment in UTC. */
  public record Tick(double x, String label, String utc) {}

  private static final List<Duration> STEPS = List.of(Duration.ofSeconds(10), Duration.ofSeconds(30),
      Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(15), Duration.ofMinutes(30), Duration.ofHours(1),
      Duration.ofHours(3), Duration.ofHours(6), Duration.ofHours(12), Duration.ofDays(1), Duration.ofDays(2),
      Duration.ofDays(7), Duration.ofDays(30), Duration.ofDays(91), Duration.ofDays(365));
  private static final DateTimeFormatter UTC = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
      .withZone(ZoneId.of("UTC"));

  private final Instant from;
  private final Instant to;
  private final ZoneId zone;
  private final double left;
  private final double width;

  /** An axis starting at {@code left} units (room for labels) and {@code width} units long. */
  public TimeAxis(Instant from, Instant to, ZoneId zone, double left, double width) {
    this.from = from;
    this.to = to.isAfter(from) ? to : from.plusSeconds(1);
    this.zone = zone;
    this.left = left;
    this.width = width;
  }

  public double x(Instant t) {
    double span = Duration.between(from, to).toMillis();
    return left + width * Math.max(0, Math.min(1, Duration.between(from, t).toMillis() / span));
  }

  public Instant from() {
    return from;
  }

  public Instant to() {
    return to;
  }

  /** Ticks at the smallest round step that gives at most {@code maxTicks} of them. */
  public List<Tick> ticks(int maxTicks) {
    Duration span = Duration.between(from, to);
    Duration step = STEPS.get(STEPS.size() - 1);
    for (Duration s : STEPS) {
      if (span.dividedBy(s) < maxTicks) {
        step = s;
        break;
      }
    }
    DateTimeFormatter label = DateTimeFormatter.ofPattern(step.compareTo(Duration.ofMinutes(1)) < 0 ? "HH:mm:ss"
        : step.compareTo(Duration.ofDays(1)) < 0 ? "d MMM HH:mm" : step.compareTo(Duration.ofDays(30)) < 0
        ? "EEE d MMM" : "MMM yyyy", Locale.ROOT);
    List<Tick> ticks = new ArrayList<>();
    for (ZonedDateTime t = first(from.atZone(zone), step); !t.toInstant().isAfter(to); t = next(t, step)) {
      if (!t.toInstant().isBefore(from)) {
        ticks.add(new Tick(x(t.toInstant()), label.format(t), UTC.format(t.toInstant())));
      }
    }
    return ticks;
  }

  /** The first round local time at or before {@code t} for {@code step}. */
  private static ZonedDateTime first(ZonedDateTime t, Duration step) {
    if (step.compareTo(Duration.ofDays(365)) >= 0) {
      return t.truncatedTo(ChronoUnit.DAYS).withDayOfYear(1);
    }
    if (step.compareTo(Duration.ofDays(30)) >= 0) {
      return t.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1);
    }
    if (step.equals(Duration.ofDays(7))) {
      return t.truncatedTo(ChronoUnit.DAYS).with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
    }
    if (step.compareTo(Duration.ofDays(1)) >= 0) {
      return t.truncatedTo(ChronoUnit.DAYS);
    }
    long seconds = step.toSeconds();
    ZonedDateTime midnight = t.truncatedTo(ChronoUnit.DAYS);
    long since = Duration.between(midnight, t).toSeconds();
    return midnight.plusSeconds(since - since % seconds);
  }

  private static ZonedDateTime next(ZonedDateTime t, Duration step) {
    if (step.compareTo(Duration.ofDays(365)) >= 0) {
      return t.plusYears(1);
    }
    if (step.equals(Duration.ofDays(91))) {
      return t.plusMonths(3);
    }
    if (step.equals(Duration.ofDays(30))) {
      return t.plusMonths(1);
    }
    if (step.compareTo(Duration.ofDays(1)) >= 0) {
      return t.plusDays(step.toDays()); // local days: a DST change keeps ticks on midnight
    }
    return t.plus(step);
  }
}
