package dev.savepoint.cli;

import dev.savepoint.core.ProgressListener;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Shows bytes processed and the rate on stderr, at most twice a second, when stderr is a terminal; does
 * nothing otherwise, so scripts and logs stay clean.
 */
final class TerminalProgress implements ProgressListener, AutoCloseable {
  private final PrintStream err = System.err;
  private final boolean enabled = System.console() != null;
  private final long start = System.nanoTime();
  private final AtomicLong bytes = new AtomicLong();
  private volatile long lastPrint;
  private final String verb;

  TerminalProgress(String verb) {
    this.verb = verb;
  }

  @Override
  public void onBytes(String artifact, long delta) {
    long total = bytes.addAndGet(delta);
    if (!enabled) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastPrint > 500_000_000L) {
      lastPrint = now;
      double seconds = Math.max((now - start) / 1e9, 1e-3);
      err.printf("\r%s %s: %s  %s/s   ", verb, artifact, Format.bytes(total), Format.bytes((long) (total / seconds)));
    }
  }

  @Override
  public void close() {
    if (enabled && lastPrint != 0) {
      err.print("\r\033[K");
      err.flush();
    }
  }
}
