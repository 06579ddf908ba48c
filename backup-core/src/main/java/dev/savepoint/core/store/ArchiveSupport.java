package dev.savepoint.core.store;

import java.io.IOException;

/**
 * What a store offers for archive storage classes (S3 GLACIER / DEEP_ARCHIVE), whose objects must be
 * restored before they can be read. Obtained with {@link Store#archive()}.
 */
public interface ArchiveSupport {
  enum Status {
    /** Readable now (not archived, or a restored copy is available). */
    AVAILABLE,
    /** Archived: a restore must be requested first. */
    ARCHIVED,
    /** A restore was requested and is in progress. */
    RESTORING
  }

  /** Retrieval speed and cost tiers, fastest first. */
  enum Tier {
    EXPEDITED, STANDARD, BULK
  }

  /** An object's storage class (e.g. {@code DEEP_ARCHIVE}, for time estimates) and whether it is readable. */
  record State(String storageClass, Status status) {}

  /** The state of one object, from a single metadata request. */
  State state(String key) throws IOException;

  /** Requests a temporary readable copy for {@code days}; requesting again while restoring is harmless. */
  void requestRestore(String key, Tier tier, int days) throws IOException;
}
