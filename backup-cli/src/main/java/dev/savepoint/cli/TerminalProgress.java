package dev.savepoint.cli;

import dev.savepoint.core.ProgressListener;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Shows bytes processed, artifacts done (a bucket backup's objects, copied or reused) and their rates on stderr,
 * at most twice a second, when stderr is a terminal; does nothing otherwise, so scripts and logs stay clean.
 */
final class TerminalProgress implements ProgressListener, AutoCloseable {
  private final PrintStream err = System.err;
  private final boolean enabled = System.console() != null;
  private final long start = System.nanoTime();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong artifacts = new AtomicLong();
  private volatile long lastPrint;
  private final String verb;

  TerminalProgress(String verb) {
    this.verb = verb;
  }

  @Override
  public void onBytes(String artifact, long delta) {
    bytes.addAndGet(delta);
    show(artifact);
  }

  @Override
  public void onArtifact(String artifact) {
    artifacts.incrementAndGet();
    show(artifact);
  }

  private void show(String artifact) {
    if (!enabled) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastPrint > 500_000_000L) {
      lastPrint = now;
      double seconds = Math.max((now - start) / 1e9, 1e-3);
      long total = bytes.get();
      long done = artifacts.get();
      err.printf("\r%s %s: %s  %s/s  %d done  %.0f/s   ", verb, artifact, Format.bytes(total),
          Format.bytes((long) (total / seconds)), done, done / seconds);
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
