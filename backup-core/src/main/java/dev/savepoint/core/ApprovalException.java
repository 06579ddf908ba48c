package dev.savepoint.core;

/** A restore was attempted without the approvals its policy requires, or an approval was refused. */
public class ApprovalException extends SavepointException {
  public ApprovalException(String message) {
    super(message);
  }
}
