package dev.savepoint.core;

import java.io.IOException;
import java.util.Map;

/**
 * Where a restore writes. A target leaves its destination untouched when a restore fails (restore to a
 * temporary place, then move into place; or a transaction that is not committed).
 */
public interface RestoreTarget {
  /**
   * Restores the backup {@code artifacts} reads. Returns facts about the restore for reports (tables and rows
   * checked, the id of a safety backup taken first); never secrets.
   */
  Map<String, Object> restore(ArtifactReader artifacts) throws IOException;

  /** A description for logs and reports; never contains credentials. */
  String describe();
}
