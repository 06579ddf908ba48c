package dev.savepoint.core;

/** Receives progress of long operations. Called from pipeline threads; implementations must be fast. */
@FunctionalInterface
public interface ProgressListener {
  /** {@code delta} more raw bytes of {@code artifact} were processed. */
  void onBytes(String artifact, long delta);

  /** {@code artifact} is done: stored, or reused from an earlier backup (which reads no bytes). */
  default void onArtifact(String artifact) {}

  static ProgressListener none() {
    return (artifact, delta) -> {};
  }
}
