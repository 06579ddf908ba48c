package dev.savepoint.core;

import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Who holds what in a repository, written as small objects beside what they hold: leases that keep a backup from
 * retention while a restore, drill or copy reads it; the lease of a running backup, renewed by a heartbeat so that a
 * cleanup of remains leaves it alone; exclusive locks of one operation at a time across hosts. A holder killed on
 * this machine no longer holds anything; one elsewhere stops renewing, and what it held lapses.
 */
final class Leases {
  private final Store store;
  private final String describe;

  Leases(Store store, String describe) {
    this.store = store;
    this.describe = describe;
  }

  /**
   * Whether one of {@code objects} is a lease that holds. Leases are honoured unsigned (a restore host may hold
   * only a public key), so a lease counts for at most {@link Repository#MAX_LEASE} after the store received it, whatever
   * its text says: a planted lease cannot keep a backup from retention for ever. A lease whose holder ran on this
   * machine and is gone (killed) no longer holds.
   */
  boolean hasActiveLease(List<ObjectInfo> objects) throws IOException {
    Instant now = Instant.now();
    for (ObjectInfo o : objects) {
      if (!o.key().contains("/leases/") || o.key().endsWith(".sig")
          || o.lastModified().plus(Repository.MAX_LEASE).isBefore(now)) {
        continue;
      }
      String text;
      try (InputStream in = store.get(o.key())) {
        text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      } catch (ObjectNotFoundException released) {
        continue;
      }
      if (dev.savepoint.core.internal.Holder.isDead(text)) {
        continue; // its holder, on this machine, was killed: the lease lapsed with it
      }
      String until = text.lines().findFirst().orElse("");
      try {
        if (Instant.parse(until).isAfter(now)) {
          return true;
        }
      } catch (java.time.format.DateTimeParseException e) {
        return true; // An unreadable lease is treated as held: never delete on doubt.
      }
    }
    return false;
  }

  /**
   * Marks backup {@code id} of {@code plan} as running until the returned lease is closed. A heartbeat renews
   * the lease every {@link Repository#RUNNING_HEARTBEAT}, so cleaning up incomplete remains ({@link Repository#deleteOrphans},
   * prune) leaves a backup that runs for many hours alone; a killed backup stops renewing, and its remains
   * become removable three heartbeats later.
   */
  Repository.Lease running(String plan, String id) throws IOException {
    String key = plan + "/" + id + "/leases/running.lease";
    Runnable renew = () -> {
      String text = Instant.now().plus(Repository.RUNNING_HEARTBEAT.multipliedBy(3)) + "\nbackup running\n"
          + dev.savepoint.core.internal.Holder.line();
      try {
        store.put(key, ByteSource.wrap(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      } catch (IOException | RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(Repository.class).warn("cannot renew the lease of running backup {} of "
            + "plan '{}'; a cleanup of incomplete backups could remove it: {}", id, plan, e.getMessage());
      }
    };
    renew.run();
    java.util.concurrent.ScheduledExecutorService heartbeat = heartbeat("savepoint-lease-" + plan, renew);
    return () -> {
      heartbeat.shutdownNow();
      try {
        store.delete(key);
      } catch (IOException | RuntimeException e) {
        // The backup is done either way: the lease lapses three heartbeats from now.
        org.slf4j.LoggerFactory.getLogger(Repository.class).warn("cannot remove the lease of finished backup {} of "
            + "plan '{}' ({}); it lapses on its own", id, plan, e.getMessage());
      }
    };
  }

  /**
   * Holds {@code key} (e.g. {@code _savepoint/locks/recovery-trpg.lock}) for one operation at a time, across
   * processes and hosts, until the returned lease is closed: a second caller gets an {@link IllegalStateException}
   * naming who holds it and since when ({@code purpose} says what the holder does, e.g. "recovery 'trpg'"). The
   * stores offer no conditional write, so the lock is claimed by writing a unique token, waiting {@code settle} and
   * reading it back (of two claims within that time, the last written wins and the other refuses; a later one sees
   * the held lock). A heartbeat renews it; a holder killed on this
   * machine, or one silent for three heartbeats, no longer holds it.
   */
  Repository.Lease exclusive(String key, String purpose, Duration settle) throws IOException {
    Optional<String> held = heldBy(key);
    if (held.isPresent()) {
      throw new IllegalStateException("cannot start " + purpose + ": " + held.get() + " holds " + key + " in "
          + describe + "; wait for it, or remove that lock if you are sure it is gone");
    }
    String token = java.util.UUID.randomUUID().toString();
    Instant since = Instant.now();
    Runnable renew = () -> {
      String text = Instant.now().plus(Repository.RUNNING_HEARTBEAT.multipliedBy(3)) + "\n" + purpose + " since "
          + since + " by " + System.getProperty("user.name") + "\n" + dev.savepoint.core.internal.Holder.line()
          + "\ntoken " + token + "\n";
      try {
        store.put(key, ByteSource.wrap(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      } catch (IOException | RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(Repository.class).warn("cannot renew the lock {}: {}", key, e.getMessage());
      }
    };
    renew.run();
    try {
      Thread.sleep(settle.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while taking " + key);
    }
    String now;
    try (InputStream in = store.get(key)) {
      now = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (ObjectNotFoundException e) {
      now = "";
    }
    if (!now.contains("token " + token)) {
      throw new IllegalStateException("cannot start " + purpose + ": " + now.lines().skip(1).findFirst().orElse("?")
          + " claimed " + key + " in " + describe + " at the same moment");
    }
    java.util.concurrent.ScheduledExecutorService heartbeat = heartbeat("savepoint-lock", renew);
    return () -> {
      heartbeat.shutdownNow();
      store.delete(key);
    };
  }

  /** Runs {@code renew} every {@link Repository#RUNNING_HEARTBEAT} on a daemon thread until the executor is shut down. */
  private static java.util.concurrent.ScheduledExecutorService heartbeat(String threadName, Runnable renew) {
    java.util.concurrent.ScheduledExecutorService heartbeat =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            dev.savepoint.core.internal.DaemonThreads.named(threadName));
    heartbeat.scheduleAtFixedRate(renew, Repository.RUNNING_HEARTBEAT.toMillis(), Repository.RUNNING_HEARTBEAT.toMillis(),
        java.util.concurrent.TimeUnit.MILLISECONDS);
    return heartbeat;
  }

  /** Who holds the lock at {@code key} ("purpose since … by …"), if a live holder does. */
  private Optional<String> heldBy(String key) throws IOException {
    String text;
    Optional<ObjectInfo> info = store.stat(key);
    if (info.isEmpty() || info.get().lastModified().plus(Repository.RUNNING_HEARTBEAT.multipliedBy(3)).isBefore(Instant.now())) {
      return Optional.empty();
    }
    try (InputStream in = store.get(key)) {
      text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (ObjectNotFoundException released) {
      return Optional.empty();
    }
    if (dev.savepoint.core.internal.Holder.isDead(text)) {
      return Optional.empty(); // its holder, on this machine, was killed
    }
    return Optional.of(text.lines().skip(1).findFirst().orElse("unknown holder"));
  }

}
