package dev.savepoint.core;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Which backups of a plan to keep: keep-last, grandfather-father-son (hourly, daily, weekly, monthly, yearly:
 * the newest backup of each of the last N periods) and keep-within. A backup is kept if any rule keeps it.
 * Ordering is by backup start time (from the manifest), never by listing order or object times. Immutable.
 */
public final class Retention {
  private final int last;
  private final int hourly;
  private final int daily;
  private final int weekly;
  private final int monthly;
  private final int yearly;
  private final Duration within;
  private final ZoneId zone;

  private Retention(Builder b) {
    this.last = b.last;
    this.hourly = b.hourly;
    this.daily = b.daily;
    this.weekly = b.weekly;
    this.monthly = b.monthly;
    this.yearly = b.yearly;
    this.within = b.within;
    this.zone = b.zone;
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

  /** The decision for one backup: kept or not, and every reason it is kept. */
  public record Verdict(Manifest backup, boolean keep, List<String> reasons) {}

  /**
   * Decides for every backup of one plan. {@code protectedIds} (backups being read by a restore, drill or
   * copy) are always kept, and so is the newest backup: every listed backup passed its verifiers before its
   * manifest was written, so the newest is the newest verified one.
   */
  public List<Verdict> apply(List<Manifest> backups, Instant now, Set<String> protectedIds) {
    List<Manifest> newestFirst = new ArrayList<>(backups);
    newestFirst.sort(Comparator.comparing(Manifest::startedAt).thenComparing(Manifest::id).reversed());
    Map<String, List<String>> reasons = new LinkedHashMap<>();
    newestFirst.forEach(m -> reasons.put(m.id(), new ArrayList<>()));
    if (!newestFirst.isEmpty()) {
      reasons.get(newestFirst.get(0).id()).add("newest verified backup");
    }
    for (int i = 0; i < Math.min(last, newestFirst.size()); i++) {
      reasons.get(newestFirst.get(i).id()).add("last " + last);
    }
    bucket(newestFirst, reasons, hourly, "hourly", t -> t.toLocalDate() + "T" + t.getHour());
    bucket(newestFirst, reasons, daily, "daily", t -> t.toLocalDate().toString());
    bucket(newestFirst, reasons, weekly, "weekly",
        t -> t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
    bucket(newestFirst, reasons, monthly, "monthly", t -> t.getYear() + "-" + t.getMonthValue());
    bucket(newestFirst, reasons, yearly, "yearly", t -> Integer.toString(t.getYear()));
    if (within != null) {
      Instant cutoff = now.minus(within);
      for (Manifest m : newestFirst) {
        if (!m.startedAt().isBefore(cutoff)) {
          reasons.get(m.id()).add("within " + within);
        }
      }
    }
    for (Manifest m : newestFirst) {
      if (protectedIds.contains(m.id())) {
        reasons.get(m.id()).add("in use by a restore, drill or copy");
      }
    }
    List<Verdict> result = new ArrayList<>();
    for (Manifest m : newestFirst) {
      List<String> r = reasons.get(m.id());
      result.add(new Verdict(m, !r.isEmpty(), List.copyOf(r)));
    }
    return result;
  }

  private void bucket(List<Manifest> newestFirst, Map<String, List<String>> reasons, int count, String name,
      Function<ZonedDateTime, String> period) {
    Set<String> seen = new HashSet<>();
    for (Manifest m : newestFirst) {
      if (seen.size() >= count) {
        return;
      }
      if (seen.add(period.apply(m.startedAt().atZone(zone)))) {
        reasons.get(m.id()).add(name + " " + seen.size() + "/" + count);
      }
    }
  }

  @Override
  public String toString() {
    return "Retention[last=" + last + ", hourly=" + hourly + ", daily=" + daily + ", weekly=" + weekly
        + ", monthly=" + monthly + ", yearly=" + yearly + ", within=" + within + ", zone=" + zone + "]";
  }

  /** Builds a {@link Retention}; every count defaults to 0 (rule off). */
  public static final class Builder {
    private int last;
    private int hourly;
    private int daily;
    private int weekly;
    private int monthly;
    private int yearly;
    private Duration within;
    private ZoneId zone = ZoneOffset.UTC;

    private Builder() {}

    private static int nonNegative(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("retention counts must be >= 0, got " + n);
      }
      return n;
    }

    public Builder last(int n) {
      last = nonNegative(n);
      return this;
    }

    public Builder hourly(int n) {
      hourly = nonNegative(n);
      return this;
    }

    public Builder daily(int n) {
      daily = nonNegative(n);
      return this;
    }

    public Builder weekly(int n) {
      weekly = nonNegative(n);
      return this;
    }

    public Builder monthly(int n) {
      monthly = nonNegative(n);
      return this;
    }

    public Builder yearly(int n) {
      yearly = nonNegative(n);
      return this;
    }

    public Builder within(Duration d) {
      within = d;
      return this;
    }

    /** The time zone in which days, weeks, months and years begin (default UTC). */
    public Builder zone(ZoneId zone) {
      this.zone = zone;
      return this;
    }

    public Retention build() {
      return new Retention(this);
    }
  }
}
