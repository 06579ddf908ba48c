package dev.savepoint.core;

/** No complete backup (one with a manifest) matches the selection. */
public class BackupNotFoundException extends SavepointException {
  public BackupNotFoundException(String message) {
    super(message);
  }
}
