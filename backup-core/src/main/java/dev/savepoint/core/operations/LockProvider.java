package dev.savepoint.core.operations;

import java.io.IOException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Mutual exclusion for plan runs across threads, processes or replicas. {@link #tryLock} never waits: a
 * scheduler that does not get the lock skips the run, because someone else is doing it.
 */
@FunctionalInterface
public interface LockProvider {
  /** The lock named {@code name} if it was free; close the lock to release it. */
  Optional<Lock> tryLock(String name) throws IOException;

  /** A held lock. */
  @FunctionalInterface
  interface Lock extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  /** Locks within this JVM only (one replica, or tests). */
  static LockProvider inProcess() {
    Set<String> held = ConcurrentHashMap.newKeySet();
    return name -> held.add(name) ? Optional.of(() -> held.remove(name)) : Optional.empty();
  }
}
