package dev.savepoint.core;

/** The outcome of one {@link Verifier} on one backup; {@code detail} says what was checked or what failed. */
public record VerificationResult(String check, boolean passed, String detail) {
  public static VerificationResult pass(String check, String detail) {
    return new VerificationResult(check, true, detail);
  }

  public static VerificationResult fail(String check, String detail) {
    return new VerificationResult(check, false, detail);
  }
}
