package dev.savepoint.providers;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Point-in-time recovery of a managed PostgreSQL database through its provider's API: the provider keeps the WAL,
 * Savepoint asks for the restore, waits until the database serves again and reports what happened. Implementations:
 * {@link NeonPitr}, {@link SupabasePitr}. API tokens come from {@link dev.savepoint.core.Secrets} and never reach
 * logs, reports or exception messages.
 */
public interface ManagedPitr {
  /** What is restored, e.g. {@code neon project p-1 branch br-main}; never the token. */
  String describe();

  /** The times the provider can restore to now. */
  Window window() throws IOException, InterruptedException;

  /**
   * Restores the database to {@code at} and waits, up to {@code timeout}, until it serves again. A time outside
   * {@link #window()} is refused before anything is asked of the provider. Returns details for the report.
   */
  Map<String, Object> restore(Instant at, Duration timeout) throws IOException, InterruptedException;

  /** From {@code from} to {@code to}, both included. */
  record Window(Instant from, Instant to) {
    public boolean contains(Instant t) {
      return !t.isBefore(from) && !t.isAfter(to);
    }

    @Override
    public String toString() {
      return "from " + from + " to " + to;
    }
  }
}
