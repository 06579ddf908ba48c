package dev.savepoint.core.store;

import java.time.Duration;

/**
 * How often and how patiently to retry a transient failure: exponential backoff from {@code initialDelay},
 * capped at {@code maxDelay}, with full jitter.
 */
public record RetryPolicy(int maxAttempts, Duration initialDelay, Duration maxDelay) {
  public RetryPolicy {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
    }
    if (initialDelay.isNegative() || maxDelay.compareTo(initialDelay) < 0) {
      throw new IllegalArgumentException("need 0 <= initialDelay <= maxDelay");
    }
  }

  /** Five attempts, 200 ms doubling to at most 10 s. */
  public static RetryPolicy defaults() {
    return new RetryPolicy(5, Duration.ofMillis(200), Duration.ofSeconds(10));
  }

  public static RetryPolicy none() {
    return new RetryPolicy(1, Duration.ZERO, Duration.ZERO);
  }

  /** The upper bound of the delay before attempt {@code attempt} (2 = first retry). */
  Duration delayCap(int attempt) {
    long cap = initialDelay.toMillis() << Math.min(attempt - 2, 20);
    return Duration.ofMillis(Math.min(cap, maxDelay.toMillis()));
  }
}
