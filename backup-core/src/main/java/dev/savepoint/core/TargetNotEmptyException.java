package dev.savepoint.core;

/**
 * The restore target already holds data and the restore was not told to replace it: nothing was written. The
 * operator's choice to make (another target, or replacing explicitly), so the CLI exits 2 like other usage errors.
 */
public class TargetNotEmptyException extends RestoreException {
  public TargetNotEmptyException(String message) {
    super(message);
  }
}
