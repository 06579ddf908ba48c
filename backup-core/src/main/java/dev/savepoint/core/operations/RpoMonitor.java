package dev.savepoint.core.operations;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Alerts when the newest verified backup of a plan is older than its recovery point objective. Every listed
 * backup passed its verifiers before its manifest was written, so the newest listed backup is the newest
 * verified one.
 */
public final class RpoMonitor {
  private RpoMonitor() {}

  /** The breach, if the newest backup of {@code plan} started more than {@code rpo} before {@code now}. */
  public static Optional<Event> check(Repository repository, String plan, Duration rpo, Instant now)
      throws IOException {
    Optional<Manifest> found = repository.newest(plan);
    if (found.isEmpty()) {
      return Optional.of(new Event(Event.Type.RPO_BREACHED, plan, null, now,
          "no verified backup exists (RPO " + rpo + ")", Map.of("rpoSeconds", rpo.toSeconds())));
    }
    Manifest newest = found.get();
    Duration age = Duration.between(newest.startedAt(), now);
    if (age.compareTo(rpo) <= 0) {
      return Optional.empty();
    }
    return Optional.of(new Event(Event.Type.RPO_BREACHED, plan, newest.id(), now,
        "newest verified backup is " + age.toMinutes() + " min old, RPO is " + rpo.toMinutes() + " min",
        Map.of("ageSeconds", age.toSeconds(), "rpoSeconds", rpo.toSeconds())));
  }
}
