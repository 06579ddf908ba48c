package dev.savepoint.core;

import dev.savepoint.core.store.ArchiveRestore;

/**
 * The object is in an archive storage class and has not been restored: request a restore (see
 * {@link ArchiveRestore}; CLI: {@code restore --archive-tier ... --wait ...}) and read it when available.
 */
public class ObjectArchivedException extends StoreException {
  public ObjectArchivedException(String message) {
    super(message);
  }
}
