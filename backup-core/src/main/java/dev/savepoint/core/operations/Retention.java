package dev.savepoint.core.operations;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import java.time.Duration;
import java.time.Instant;
import java.time.Period;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Which backups of a plan to keep. A backup is kept if any rule keeps it:
 *
 * <ul>
 *   <li>{@code last N}: the N newest backups;
 *   <li>{@code hourly/daily/weekly/monthly/yearly N}: the newest backup of each of the N newest periods that
 *       have a backup (grandfather-father-son, periods in the retention's zone; weeks are ISO weeks);
 *   <li>{@code within W}: every backup within the window W <em>before the newest backup</em> (as restic does),
 *       not before now — when backups stop, the history does not shrink. W is calendar-aware in the zone
 *       ({@code P1Y}, {@code P1M}, {@code P3D} = three calendar days across a DST change; {@code PT36H} = 36
 *       hours).
 * </ul>
 *
 * A count of {@link #UNLIMITED} ({@code -1}) keeps every period. The newest backup, backups younger than the
 * freshness guard, and the pinned ones (in use by a restore, drill or copy; the plan's last known good backup,
 * see {@link Repository#prune}) are always kept. A retention needs at least one rule: without one it would keep only
 * the newest backup, so {@link Builder#build} refuses it. {@linkplain Builder#minFresh The freshness guard}
 * keeps everything while the newest backup is older than a bound, i.e. while backups are failing. Ordering is by
 * backup start time, then id (as {@link Repository#list} orders), never by listing order. Immutable.
 */
public final class Retention {
  /** A count that keeps every period (and for {@code last}, every backup). */
  public static final int UNLIMITED = -1;

  private final int last;
  private final int hourly;
  private final int daily;
  private final int weekly;
  private final int monthly;
  private final int yearly;
  private final @Nullable Window within;
  private final ZoneId zone;
  private final @Nullable Duration minFresh;
  private final @Nullable Set<String> deletable;

  private Retention(Builder b) {
    this.last = b.last;
    this.hourly = b.hourly;
    this.daily = b.daily;
    this.weekly = b.weekly;
    this.monthly = b.monthly;
    this.yearly = b.yearly;
    this.within = b.within;
    this.zone = b.zone;
    this.minFresh = b.minFresh;
    this.deletable = b.deletable;
  }

  public static Builder builder() {
    return new Builder();
  }

  public static Retention keepDaily(int n) {
    return builder().daily(n).build();
  }

  public static Retention keepWithin(Duration d) {
    return builder().within(d).build();
  }

  /**
   * A keep-within window: a calendar part (years, months, days in the zone) and a clock part (hours, minutes,
   * seconds). Parsed from ISO-8601: {@code P1Y}, {@code P1M}, {@code P3D}, {@code PT36H}, {@code P1DT12H}.
   */
  public record Window(Period calendar, Duration clock) {
    public Window {
      if (calendar.isNegative() || clock.isNegative() || calendar.isZero() && clock.isZero()) {
        throw new IllegalArgumentException("a keep-within window must be positive, was " + calendar + " " + clock);
      }
    }

    public static Window parse(String iso) {
      String text = iso.strip().toUpperCase(java.util.Locale.ROOT);
      int t = text.indexOf('T');
      try {
        Period calendar = t == 1 ? Period.ZERO : Period.parse(t < 0 ? text : text.substring(0, t));
        Duration clock = t < 0 ? Duration.ZERO : Duration.parse("P" + text.substring(t));
        return new Window(calendar, clock);
      } catch (java.time.format.DateTimeParseException e) {
        throw new IllegalArgumentException("not an ISO-8601 window: '" + iso + "' (examples: P7D, P1M, P1Y, PT36H)");
      }
    }

    /** The earliest instant within the window ending at {@code end}. */
    public Instant start(Instant end, ZoneId zone) {
      return end.atZone(zone).minus(calendar).toInstant().minus(clock);
    }

    @Override
    public String toString() {
      if (calendar.isZero()) {
        return clock.toString();
      }
      return clock.isZero() ? calendar.toString() : calendar + clock.toString().substring(1);
    }
  }

  /** The decision for one backup: kept or not, and every reason it is kept. */
  public record Verdict(Manifest backup, boolean keep, List<String> reasons) {}

  /**
   * Decides for every backup of one plan, newest first. {@code protectedIds} (backups being read by a restore,
   * drill or copy) are always kept, and so is the newest backup: every listed backup passed its verifiers
   * before its manifest was written, so the newest is the newest verified one.
   */
  public List<Verdict> apply(List<Manifest> backups, Instant now, Set<String> protectedIds) {
    Map<String, String> pinned = new LinkedHashMap<>();
    protectedIds.forEach(id -> pinned.put(id, "in use by a restore, drill or copy"));
    return apply(backups, now, pinned);
  }

  /**
   * Decides for every backup of one plan, newest first; each of {@code pinned} (backup id to the reason) is kept
   * with its reason.
   */
  public List<Verdict> apply(List<Manifest> backups, Instant now, Map<String, String> pinned) {
    List<Manifest> newestFirst = new ArrayList<>(backups);
    newestFirst.sort(Repository.BACKUP_ORDER.reversed());
    Map<String, List<String>> reasons = new LinkedHashMap<>();
    if (!newestFirst.isEmpty()) {
      Manifest newest = newestFirst.get(0);
      reasonsFor(reasons, newest).add("newest backup");
      if (minFresh != null && newest.startedAt().isBefore(now.minus(minFresh))) {
        // Backups are failing: deleting now would shrink the history the operator is about to need.
        newestFirst.forEach(m -> reasonsFor(reasons, m).add("newest backup is older than " + minFresh
            + ": nothing is deleted while backups are failing (force to override)"));
      } else if (minFresh != null) {
        // An ad-hoc backup taken during an incident must not cost the day's good one its place.
        newestFirst.stream().filter(m -> m != newest && !m.startedAt().isBefore(now.minus(minFresh)))
            .forEach(m -> reasonsFor(reasons, m).add("younger than the freshness guard " + minFresh));
      }
      if (within != null) {
        Instant start = within.start(newest.startedAt(), zone);
        for (Manifest m : newestFirst) {
          if (!m.startedAt().isBefore(start)) {
            reasonsFor(reasons, m).add("within " + within + " of the newest");
          }
        }
      }
    }
    for (int i = 0; i < newestFirst.size() && (last == UNLIMITED || i < last); i++) {
      reasonsFor(reasons, newestFirst.get(i)).add(last == UNLIMITED ? "last (all)" : "last " + last);
    }
    bucket(newestFirst, reasons, hourly, "hourly", t -> t.toLocalDate() + "T" + t.getHour());
    bucket(newestFirst, reasons, daily, "daily", t -> t.toLocalDate().toString());
    bucket(newestFirst, reasons, weekly, "weekly",
        t -> t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
    bucket(newestFirst, reasons, monthly, "monthly", t -> t.getYear() + "-" + t.getMonthValue());
    bucket(newestFirst, reasons, yearly, "yearly", t -> Integer.toString(t.getYear()));
    for (Manifest m : newestFirst) {
      if (pinned.containsKey(m.id())) {
        reasonsFor(reasons, m).add(pinned.get(m.id()));
      }
      if (deletable != null && !deletable.contains(m.id())) {
        reasonsFor(reasons, m).add("not among the backups approved for deletion");
      }
    }
    List<Verdict> result = new ArrayList<>();
    for (Manifest m : newestFirst) {
      List<String> r = reasonsFor(reasons, m);
      result.add(new Verdict(m, !r.isEmpty(), List.copyOf(r)));
    }
    return result;
  }

  /** Why {@code m} is kept (empty: it is not). */
  private static List<String> reasonsFor(Map<String, List<String>> reasons, Manifest m) {
    return reasons.computeIfAbsent(m.id(), id -> new ArrayList<>());
  }

  private void bucket(List<Manifest> newestFirst, Map<String, List<String>> reasons, int count, String name,
      Function<ZonedDateTime, String> period) {
    Set<String> seen = new HashSet<>();
    for (Manifest m : newestFirst) {
      if (count != UNLIMITED && seen.size() >= count) {
        return;
      }
      if (seen.add(period.apply(m.startedAt().atZone(zone)))) {
        reasonsFor(reasons, m).add(name + " " + seen.size() + "/" + (count == UNLIMITED ? "all" : count));
      }
    }
  }

  /** This retention without the freshness guard: for an operator who deletes on purpose while backups fail. */
  public Retention forced() {
    Builder b = copy();
    b.minFresh = null;
    return b.build();
  }

  /**
   * This retention, deleting none but {@code ids}: an approved prune deletes exactly what its approvers saw, even
   * if backups were taken meanwhile.
   */
  public Retention deletingOnly(Set<String> ids) {
    Builder b = copy();
    b.deletable = Set.copyOf(ids);
    return b.build();
  }

  private Builder copy() {
    Builder b = new Builder();
    b.last = last;
    b.hourly = hourly;
    b.daily = daily;
    b.weekly = weekly;
    b.monthly = monthly;
    b.yearly = yearly;
    b.within = within;
    b.zone = zone;
    b.minFresh = minFresh;
    b.deletable = deletable;
    return b;
  }

  @Override
  public String toString() {
    return "Retention[last=" + last + ", hourly=" + hourly + ", daily=" + daily + ", weekly=" + weekly
        + ", monthly=" + monthly + ", yearly=" + yearly + ", within=" + within + ", zone=" + zone
        + ", minFresh=" + minFresh + "]";
  }

  /** Builds a {@link Retention}; every count defaults to 0 (rule off); at least one rule must be set. */
  public static final class Builder {
    private int last;
    private int hourly;
    private int daily;
    private int weekly;
    private int monthly;
    private int yearly;
    private @Nullable Window within;
    private ZoneId zone = ZoneOffset.UTC;
    private @Nullable Duration minFresh;
    private @Nullable Set<String> deletable;

    private Builder() {}

    private static int count(int n) {
      if (n < UNLIMITED) {
        throw new IllegalArgumentException("retention counts must be >= 0, or -1 for unlimited, got " + n);
      }
      return n;
    }

    public Builder last(int n) {
      last = count(n);
      return this;
    }

    public Builder hourly(int n) {
      hourly = count(n);
      return this;
    }

    public Builder daily(int n) {
      daily = count(n);
      return this;
    }

    public Builder weekly(int n) {
      weekly = count(n);
      return this;
    }

    public Builder monthly(int n) {
      monthly = count(n);
      return this;
    }

    public Builder yearly(int n) {
      yearly = count(n);
      return this;
    }

    /** Keeps backups within {@code d} (exact hours) before the newest backup; null turns the rule off. */
    public Builder within(@Nullable Duration d) {
      within = d == null ? null : new Window(Period.ZERO, d);
      return this;
    }

    /** Keeps backups within {@code window} (calendar-aware in the zone) before the newest backup. */
    public Builder within(@Nullable Window window) {
      within = window;
      return this;
    }

    /** As {@link #within(Window)}, from ISO-8601 text: {@code P7D}, {@code P1M}, {@code P1Y}, {@code PT36H}. */
    public Builder within(@Nullable String iso) {
      within = iso == null ? null : Window.parse(iso);
      return this;
    }

    /** The time zone in which days, weeks, months and years begin (default UTC). */
    public Builder zone(ZoneId zone) {
      this.zone = zone;
      return this;
    }

    /**
     * The freshness guard: while the newest backup is older than {@code bound} (backups are failing), nothing is
     * deleted. Plans use their RPO; {@link Retention#forced()} removes the guard.
     */
    public Builder minFresh(Duration bound) {
      this.minFresh = bound;
      return this;
    }

    /** Refuses (with {@link IllegalArgumentException}) a retention without any rule. */
    public Retention build() {
      if (last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 && within == null) {
        throw new IllegalArgumentException("a retention needs at least one rule (keep-last, keep-hourly, keep-daily, "
            + "keep-weekly, keep-monthly, keep-yearly or keep-within); without one it would delete every backup but "
            + "the newest");
      }
      return new Retention(this);
    }
  }
}
