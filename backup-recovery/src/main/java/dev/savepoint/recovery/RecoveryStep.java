package dev.savepoint.recovery;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One step of a {@link RecoveryPlan}: stop the writers, restore a database, restore uploads, check, start the
 * writers, wait for health. A step either completes (returning details for the report: which backup, how many
 * rows) or throws; a thrown step stops the plan, which can be resumed from it.
 */
public interface RecoveryStep {
  /** A short name, unique in the plan, e.g. {@code stop-writers} or {@code restore-database}. */
  String name();

  /** How long the step may take before it fails. */
  Duration timeout();

  /** What the step would do, resolved but without changing anything (for {@code --dry-run}). */
  String describe() throws IOException;

  /**
   * Checks, before any step of the recovery changes anything, what this step needs that no earlier step can provide:
   * its plan and backup as of the point in time, the key to read it, the provider's window. What earlier steps will
   * change (a stopped deployment's recorded size, a moved data directory) is checked when the step runs. Nothing by
   * default.
   */
  default void preflight() throws IOException {}

  /** Does the step; returns details for the report (never secrets). */
  Map<String, Object> run() throws IOException, InterruptedException;

  /** What the platform is left like if this step fails (for the report), e.g. "writers are stopped". */
  default String stateIfFailed() {
    return "unchanged by this step";
  }

  /**
   * What the platform is like once this step has run, where a later failure must say so (e.g. "writers run"); null
   * for steps whose effect needs no mention.
   */
  default @Nullable String leaves() {
    return null;
  }

  /**
   * Whether a resumed recovery runs this step again even though an earlier run did it: a check that guards what
   * follows (the two-person rule) must hold now, not because a report — which its runner could have written — says it
   * held then.
   */
  default boolean repeatsOnResume() {
    return false;
  }
}
