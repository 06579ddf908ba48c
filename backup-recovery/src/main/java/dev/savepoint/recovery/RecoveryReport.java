package dev.savepoint.recovery;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a recovery did: every step with its start, end, outcome and details, the measured RTO against the
 * target, and, when a step failed, which one, the state the platform is left in and how to resume. A drill's report
 * ({@code drill}) measured the same plan against staging targets. {@code pointInTime} (null: the newest backups) and
 * {@code stepSha256} (each step's definition as written in the recovery file; empty when built in code) are what a
 * resume must match for the steps it does not run again. {@code rtoSeconds} counts from {@code incidentStartedAt}
 * when the operator gave it (the outage), else from the first run's start (the procedure).
 */
public record RecoveryReport(String id, String plan, Instant startedAt, @Nullable Instant finishedAt, boolean dryRun,
    boolean drill, String outcome, List<StepResult> steps, long rtoSeconds, @Nullable Long rtoTargetSeconds,
    @Nullable String failedStep, @Nullable String stateAfterFailure, List<String> checklist, @Nullable Instant pointInTime,
    Map<String, String> stepSha256, @Nullable Instant incidentStartedAt) {

  /** One step's outcome: {@code done}, {@code failed}, {@code skipped} (done by an earlier run), {@code planned}. */
  public record StepResult(String name, String outcome, @Nullable Instant startedAt, @Nullable Instant finishedAt,
      @Nullable String description, Map<String, Object> details, @Nullable String error) {}

  public Duration rto() {
    return Duration.ofSeconds(rtoSeconds);
  }

  public boolean succeeded() {
    return outcome.equals("recovered") || outcome.equals("planned");
  }
}
