package dev.savepoint.postgres.pitr;

import java.util.Collection;
import java.util.Map;

/**
 * Which WAL segments the kept base backups need, across timelines (issue 43.1). A base backup on timeline {@code t}
 * starting at LSN {@code s} needs every segment of {@code t} from the one holding {@code s}, and every segment of
 * each timeline that descends from {@code t} at a switch point at or after {@code s} (recovery follows the newest
 * timeline, {@code recovery_target_timeline = 'latest'}, or one named). A timeline whose history cannot be read counts
 * as descending from every kept backup: what cannot be decided is kept.
 *
 * @param bases where each kept base backup starts
 * @param histories per timeline (other than 1), the LSN at which it left each ancestor: {@code ancestor -> switch LSN},
 *     as its {@code .history} file says; a timeline missing here has no readable history
 */
record WalRetention(Collection<Start> bases, Map<Integer, Map<Integer, Long>> histories) {
  /** A kept base backup's first WAL position. */
  record Start(int timeline, long lsn) {}

  /** True if some kept base backup needs {@code segment}. */
  boolean needs(WalSegment segment) {
    for (Start base : bases) {
      if (segment.endLsn() <= base.lsn()) {
        continue; // before the backup began
      }
      if (segment.timeline() == base.timeline()) {
        return true;
      }
      Map<Integer, Long> history = histories.get(segment.timeline());
      if (history == null && segment.timeline() > base.timeline()) {
        return true; // unreadable history: kept
      }
      Long leftAt = history == null ? null : history.get(base.timeline());
      if (leftAt != null && leftAt >= base.lsn()) {
        return true;
      }
    }
    return false;
  }

  /**
   * A timeline history file's switch points: each line {@code parent-timeline TAB switch-LSN TAB reason}, comments
   * and blank lines ignored.
   */
  static Map<Integer, Long> parseHistory(String history) {
    Map<Integer, Long> switches = new java.util.LinkedHashMap<>();
    for (String line : history.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      String[] fields = l.split("\\s+");
      switches.put(Integer.parseInt(fields[0]), WalSegment.parseLsn(fields[1]));
    }
    return switches;
  }
}
