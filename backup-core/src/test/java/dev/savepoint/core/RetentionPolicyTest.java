package dev.savepoint.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.operations.Retention;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Retention's documented policy: a backup is kept if any rule keeps it; keep-within is measured from the newest
 * backup, calendar-aware in the zone; the freshness guard deletes nothing while backups are failing.
 */
class RetentionPolicyTest {
  static final List<ZoneId> ZONES = List.of(ZoneId.of("UTC"), ZoneId.of("Asia/Tokyo"), ZoneId.of("America/New_York"));

  static Manifest at(Instant t, int n) {
    return new Manifest(1, String.format("%s-%04x", t, n), "p", null, Map.of(), t, t,
        new Manifest.SourceInfo("s", Map.of()), List.of());
  }

  static Set<String> kept(List<Retention.Verdict> verdicts) {
    return verdicts.stream().filter(Retention.Verdict::keep).map(v -> v.backup().id()).collect(Collectors.toSet());
  }

  @Test
  void whenBackupsStopTheWindowIsMeasuredFromTheNewestAndTheGuardDeletesNothing() {
    Instant newest = Instant.parse("2026-11-20T12:00:00Z");
    List<Manifest> backups = new ArrayList<>();
    for (int h = 0; h < 24 * 10; h += 2) {
      backups.add(at(newest.minus(Duration.ofHours(h)), h));
    }
    Instant fiveDaysLater = newest.plus(Duration.ofDays(5));
    Set<String> within = kept(Retention.builder().within("P3D").build().apply(backups, fiveDaysLater, Set.of()));
    assertThat(within).hasSize(37); // every backup within 72 h of the newest, both ends included
    Set<String> guarded = kept(Retention.builder().within("P3D").minFresh(Duration.ofDays(1)).build()
        .apply(backups, fiveDaysLater, Set.of()));
    assertThat(guarded).hasSize(backups.size());
    assertThat(kept(Retention.builder().within("P3D").minFresh(Duration.ofDays(1)).build().forced()
        .apply(backups, fiveDaysLater, Set.of()))).isEqualTo(within);
  }

  /** An ad-hoc backup during an incident does not push the day's good backup out of keep-daily. */
  @Test
  void backupsYoungerThanTheFreshnessGuardAndPinnedOnesAreKept() {
    Instant morning = Instant.parse("2026-11-20T03:00:00Z");
    Manifest good = at(morning, 1);
    Manifest adHoc = at(morning.plus(Duration.ofHours(9)), 2);
    Manifest older = at(morning.minus(Duration.ofDays(3)), 3);
    Instant now = adHoc.startedAt().plus(Duration.ofMinutes(5));
    Retention daily = Retention.builder().daily(1).build();
    assertThat(kept(daily.apply(List.of(good, adHoc, older), now, Set.of()))).containsExactly(adHoc.id());
    List<Retention.Verdict> guarded = Retention.builder().daily(1).minFresh(Duration.ofDays(1)).build()
        .apply(List.of(good, adHoc, older), now, Map.of(older.id(), "last known good: passed a restore drill"));
    assertThat(kept(guarded)).containsExactlyInAnyOrder(adHoc.id(), good.id(), older.id());
    assertThat(guarded.get(1).reasons()).containsExactly("younger than the freshness guard PT24H");
    assertThat(guarded.get(2).reasons()).containsExactly("last known good: passed a restore drill");
  }

  @Test
  void aRetentionWithoutRulesIsRefused() {
    assertThatThrownBy(() -> Retention.builder().build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least one rule");
    assertThatThrownBy(() -> Retention.builder().last(0).zone(ZoneId.of("Asia/Tokyo")).build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Retention.builder().within("3 days")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("P7D");
  }

  @Test
  void calendarWindowsMonthsYearsAndDaysAcrossDst() {
    ZoneId ny = ZoneId.of("America/New_York");
    // DST ended on 2026-11-01: three calendar days before 2026-11-02T12:00 local is 2026-10-30T12:00 local = 73 h.
    Instant newest = ZonedDateTime.of(2026, 11, 2, 12, 0, 0, 0, ny).toInstant();
    Manifest edge = at(ZonedDateTime.of(2026, 10, 30, 12, 0, 0, 0, ny).toInstant(), 1);
    Manifest outside = at(edge.startedAt().minusSeconds(1), 2);
    List<Manifest> backups = List.of(at(newest, 0), edge, outside);
    assertThat(kept(Retention.builder().within("P3D").zone(ny).build().apply(backups, newest, Set.of())))
        .containsExactlyInAnyOrder(at(newest, 0).id(), edge.id());
    assertThat(kept(Retention.builder().within(Duration.ofDays(3)).zone(ny).build().apply(backups, newest, Set.of())))
        .containsExactly(at(newest, 0).id()); // 72 exact hours
    Instant march31 = Instant.parse("2026-03-31T00:00:00Z");
    List<Manifest> monthly = List.of(at(march31, 0), at(Instant.parse("2026-02-28T00:00:00Z"), 1),
        at(Instant.parse("2026-02-27T23:59:59Z"), 2), at(Instant.parse("2025-03-31T00:00:00Z"), 3));
    assertThat(kept(Retention.builder().within("P1M").build().apply(monthly, march31, Set.of()))).hasSize(2);
    assertThat(kept(Retention.builder().within("P1Y").build().apply(monthly, march31, Set.of()))).hasSize(4);
    assertThat(kept(Retention.builder().daily(Retention.UNLIMITED).build().apply(monthly, march31, Set.of()))).hasSize(4);
  }

  /** The reference: the documented policy, written as sets of periods rather than one pass over backups. */
  static Set<String> reference(List<Manifest> backups, int last, int[] counts, String within, ZoneId zone,
      Duration minFresh, Instant now) {
    List<Manifest> sorted = new ArrayList<>(backups);
    sorted.sort(Comparator.comparing(Manifest::startedAt).thenComparing(Manifest::id));
    Manifest newest = sorted.get(sorted.size() - 1);
    if (minFresh != null && newest.startedAt().isBefore(now.minus(minFresh))) {
      return backups.stream().map(Manifest::id).collect(Collectors.toSet());
    }
    Set<String> keep = new HashSet<>();
    keep.add(newest.id());
    if (minFresh != null) { // backups succeed: none younger than the guard goes
      sorted.stream().filter(m -> !m.startedAt().isBefore(now.minus(minFresh))).forEach(m -> keep.add(m.id()));
    }
    int lastN = last == -1 ? sorted.size() : Math.min(last, sorted.size());
    sorted.subList(sorted.size() - lastN, sorted.size()).forEach(m -> keep.add(m.id()));
    List<Function<ZonedDateTime, Comparable<?>>> periods = List.of(
        t -> t.truncatedTo(ChronoUnit.HOURS).toLocalDateTime(),
        t -> t.toLocalDate(),
        t -> t.get(IsoFields.WEEK_BASED_YEAR) * 100 + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR),
        t -> t.getYear() * 100 + t.getMonthValue(),
        t -> t.getYear());
    for (int r = 0; r < periods.size(); r++) {
      TreeMap<Comparable<Object>, Manifest> newestOfPeriod = new TreeMap<>(Comparator.reverseOrder());
      for (Manifest m : sorted) { // oldest first: later backups of a period replace earlier ones
        @SuppressWarnings("unchecked")
        Comparable<Object> key = (Comparable<Object>) periods.get(r).apply(m.startedAt().atZone(zone));
        newestOfPeriod.put(key, m);
      }
      int n = counts[r] == -1 ? newestOfPeriod.size() : counts[r];
      newestOfPeriod.values().stream().limit(n).forEach(m -> keep.add(m.id()));
    }
    if (within != null) {
      Instant start = Retention.Window.parse(within).start(newest.startedAt(), zone);
      sorted.stream().filter(m -> !m.startedAt().isBefore(start)).forEach(m -> keep.add(m.id()));
    }
    return keep;
  }

  static List<Manifest> timeline(Random random) {
    LocalDateTime[] anchors = {LocalDateTime.of(2026, 3, 7, 20, 0), LocalDateTime.of(2026, 10, 31, 20, 0),
        LocalDateTime.of(2026, 12, 27, 0, 0), LocalDateTime.of(2026, 2, 26, 0, 0), LocalDateTime.of(2027, 6, 1, 0, 0)};
    Instant t = anchors[random.nextInt(anchors.length)].toInstant(java.time.ZoneOffset.UTC);
    List<Manifest> backups = new ArrayList<>();
    int n = 1 + random.nextInt(120);
    for (int i = 0; i < n; i++) {
      switch (random.nextInt(4)) {
        case 0 -> t = t.plus(Duration.ofMinutes(55 + random.nextInt(10))); // hourly, jittered
        case 1 -> t = t.plusSeconds(random.nextInt(90)); // a burst (clock skew: same second possible)
        case 2 -> t = t.plus(Duration.ofHours(random.nextInt(72))); // gaps
        default -> t = t.plus(Duration.ofDays(random.nextInt(40))); // monthly-ish
      }
      backups.add(at(t, i));
    }
    java.util.Collections.shuffle(backups, random); // listing order must not matter
    return backups;
  }

  @Test
  void keptSetsEqualTheReferenceOverSeededRandomTimelines() {
    Random random = new Random(20261129);
    int cases = 5000;
    String[] windows = {null, null, "P3D", "P1D", "PT36H", "P2W", "P1M", "P6M", "P1Y", "PT1H"};
    for (int c = 0; c < cases; c++) {
      List<Manifest> backups = timeline(random);
      ZoneId zone = ZONES.get(random.nextInt(ZONES.size()));
      int last = count(random);
      int[] counts = {count(random), count(random), count(random), count(random), count(random)};
      String within = windows[random.nextInt(windows.length)];
      if (last == 0 && within == null && java.util.Arrays.stream(counts).allMatch(x -> x == 0)) {
        last = 1;
      }
      Duration minFresh = random.nextInt(4) == 0 ? Duration.ofHours(1 + random.nextInt(96)) : null;
      Instant newest = backups.stream().map(Manifest::startedAt).max(Comparator.naturalOrder()).orElseThrow();
      Instant now = newest.plus(Duration.ofMinutes(random.nextInt(60 * 24 * 8)));
      Retention retention = Retention.builder().last(last).hourly(counts[0]).daily(counts[1]).weekly(counts[2])
          .monthly(counts[3]).yearly(counts[4]).within(within).zone(zone).minFresh(minFresh).build();
      Set<String> expected = reference(backups, last, counts, within, zone, minFresh, now);
      assertThat(kept(retention.apply(backups, now, Set.of()))).as("case %d: %s", c, retention).isEqualTo(expected);
    }
  }

  static int count(Random random) {
    int r = random.nextInt(10);
    return r == 0 ? -1 : r < 5 ? 0 : random.nextInt(8);
  }

  @Test
  void listAndLatestUseTheSameOrderAsPrune() {
    assertThat(LocalDate.of(2026, 12, 31).get(IsoFields.WEEK_OF_WEEK_BASED_YEAR)).isEqualTo(53);
    Manifest a = at(Instant.parse("2026-01-01T00:00:00Z"), 1);
    Manifest b = at(Instant.parse("2026-01-01T00:00:00Z"), 2);
    List<Manifest> sorted = new ArrayList<>(List.of(b, a));
    sorted.sort(Repository.BACKUP_ORDER);
    assertThat(sorted).containsExactly(a, b);
    assertThat(BackupSelector.latest().select(sorted)).contains(b);
    assertThat(Retention.builder().last(1).build().apply(List.of(a, b), Instant.now(), Set.of()).get(0).backup())
        .isEqualTo(b);
  }
}
