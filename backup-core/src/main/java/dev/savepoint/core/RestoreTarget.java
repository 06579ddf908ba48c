package dev.savepoint.core;

import java.io.IOException;

/**
 * Where a restore writes. A target leaves its destination untouched when a restore fails (restore to a
 * temporary place, then move into place; or a transaction that is not committed).
 */
public interface RestoreTarget {
  void restore(ArtifactReader artifacts) throws IOException;

  /** A description for logs and reports; never contains credentials. */
  String describe();
}
