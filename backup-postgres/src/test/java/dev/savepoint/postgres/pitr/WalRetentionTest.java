package dev.savepoint.postgres.pitr;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * WAL retention across timelines (issue 43.1) against a model: random histories of promotions and point-in-time
 * recoveries (a new timeline branching from any earlier one at any point), random base backups on them, random
 * subsets kept. The model walks the timeline tree from each kept backup — its own timeline from its start, then every
 * child that branched at or after the point the walk reached — which is how recovery with
 * {@code recovery_target_timeline} can go; the retention under test decides per segment from the history files.
 */
class WalRetentionTest {
  static final long SIZE = 16L << 20;

  /** A timeline: its parent, where it branched off the parent (LSN), and where it ends (the newest LSN written). */
  record Line(int parent, long forkLsn, long endLsn) {}

  @Test
  void keepsExactlyWhatTheTimelineTreeWalkNeedsOverRandomHistories() {
    Random random = new Random(43_1);
    int cases = Integer.getInteger("savepoint.walRetentionHistories", 400);
    for (int c = 0; c < cases; c++) {
      Map<Integer, Line> lines = new LinkedHashMap<>();
      lines.put(1, new Line(0, 0, SIZE * (5 + random.nextInt(40))));
      int timelines = 1 + random.nextInt(6);
      for (int t = 2; t <= timelines; t++) {
        int parent = 1 + random.nextInt(t - 1);
        Line p = lines.get(parent);
        long fork = p.forkLsn() + 1 + (long) (random.nextDouble() * (p.endLsn() - p.forkLsn() - 1));
        lines.put(t, new Line(parent, fork, fork + SIZE * random.nextInt(30) + random.nextInt(1 << 20)));
      }
      List<WalRetention.Start> kept = new ArrayList<>();
      int backups = random.nextInt(5);
      for (int b = 0; b < backups; b++) {
        int t = 1 + random.nextInt(timelines);
        Line l = lines.get(t);
        kept.add(new WalRetention.Start(t, l.forkLsn() + (long) (random.nextDouble() * (l.endLsn() - l.forkLsn()))));
      }
      Map<Integer, Map<Integer, Long>> histories = new HashMap<>();
      for (int t = 2; t <= timelines; t++) {
        histories.put(t, historyOf(t, lines));
      }
      WalRetention retention = new WalRetention(kept, histories);
      Set<WalSegment> needed = model(kept, lines);
      for (WalSegment s : segments(lines)) {
        assertThat(retention.needs(s)).as("history %d: %s with %s, backups %s", c, s, lines, kept)
            .isEqualTo(needed.contains(s));
      }
    }
  }

  /** The case: the newest backup is on timeline 2, which branched in the past; prune kept its WAL. */
  @Test
  void theNewestBackupOnALaterTimelineKeepsItsLowerSegmentNumbers() {
    Map<Integer, Line> lines = Map.of(1, new Line(0, 0, 0x20 * SIZE), 2, new Line(1, 0x8 * SIZE + 100, 0x10 * SIZE));
    WalRetention retention = new WalRetention(List.of(new WalRetention.Start(1, 0x18 * SIZE),
        new WalRetention.Start(2, 0xC * SIZE)), Map.of(2, historyOf(2, lines)));
    assertThat(retention.needs(new WalSegment(2, 0xC, SIZE))).isTrue();
    assertThat(retention.needs(new WalSegment(2, 0xB, SIZE))).isFalse();
    assertThat(retention.needs(new WalSegment(1, 0xC, SIZE))).isFalse();
    assertThat(retention.needs(new WalSegment(1, 0x18, SIZE))).isTrue();
    assertThat(WalRetention.parseHistory("1\t0/8000064\tbefore 2026-12-07 10:00:00+00\n\n# comment\n"))
        .containsExactly(Map.entry(1, 0x8000064L));
  }

  /** As the server writes it: one line per ancestor, the LSN where the path to {@code t} left it. */
  static Map<Integer, Long> historyOf(int t, Map<Integer, Line> lines) {
    Map<Integer, Long> leftAt = new HashMap<>();
    for (int child = t; child != 1; child = lines.get(child).parent()) {
      leftAt.put(lines.get(child).parent(), lines.get(child).forkLsn());
    }
    return leftAt;
  }

  static List<WalSegment> segments(Map<Integer, Line> lines) {
    List<WalSegment> all = new ArrayList<>();
    lines.forEach((t, l) -> {
      for (long n = l.forkLsn() / SIZE; n <= l.endLsn() / SIZE; n++) {
        all.add(new WalSegment(t, n, SIZE));
      }
    });
    return all;
  }

  static Set<WalSegment> model(List<WalRetention.Start> kept, Map<Integer, Line> lines) {
    Set<WalSegment> needed = new HashSet<>();
    for (WalRetention.Start b : kept) {
      walk(b.timeline(), b.lsn(), lines, needed);
    }
    return needed;
  }

  /** From {@code lsn} on {@code t}: its segments from there, and each child branching at or after it. */
  static void walk(int t, long lsn, Map<Integer, Line> lines, Set<WalSegment> needed) {
    Line l = lines.get(t);
    for (long n = lsn / SIZE; n <= l.endLsn() / SIZE; n++) {
      needed.add(new WalSegment(t, n, SIZE));
    }
    lines.forEach((child, c) -> {
      if (c.parent() == t && c.forkLsn() >= lsn) {
        walk(child, c.forkLsn(), lines, needed);
      }
    });
  }
}
