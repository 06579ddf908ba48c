package dev.savepoint.core.internal;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one way Savepoint makes its worker threads: daemon threads (a library's pools must never keep an application's
 * JVM alive), named for what they do so that a thread dump says whose they are.
 */
public final class DaemonThreads {
  private DaemonThreads() {}

  /** Threads all named {@code name}. */
  public static ThreadFactory named(String name) {
    return r -> daemon(r, name);
  }

  /** Threads named {@code prefix-1}, {@code prefix-2}, … */
  public static ThreadFactory numbered(String prefix) {
    AtomicInteger next = new AtomicInteger();
    return r -> daemon(r, prefix + "-" + next.incrementAndGet());
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
