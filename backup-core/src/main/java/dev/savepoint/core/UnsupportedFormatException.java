package dev.savepoint.core;

/**
 * A repository object was written in a format this version of Savepoint does not understand (a newer
 * manifest format version, an unknown transform). Upgrade Savepoint to read it.
 */
public class UnsupportedFormatException extends SavepointException {
  public UnsupportedFormatException(String message) {
    super(message);
  }
}
