package dev.savepoint.cli;

import dev.savepoint.core.Repository;
import dev.savepoint.postgres.pitr.PointInTimeRestore;

/** A point-in-time plan as the commands open it: along the newest timeline, or the one {@code --timeline} names. */
final class PitrOptions {
  private PitrOptions() {}

  static PointInTimeRestore of(Repository repository, String plan, Integer timeline) {
    PointInTimeRestore pitr = new PointInTimeRestore(repository, plan);
    return timeline == null ? pitr : pitr.onTimeline(timeline);
  }
}
