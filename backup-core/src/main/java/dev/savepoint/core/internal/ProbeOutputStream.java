package dev.savepoint.core.internal;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/** Passes bytes through to {@code out} and shows them to an observer (a {@link Probe}, say). */
public final class ProbeOutputStream extends FilterOutputStream {
  /** Sees every byte written, in order. */
  @FunctionalInterface
  public interface Observer {
    void update(byte[] b, int off, int len);
  }

  private final Observer probe;

  public ProbeOutputStream(OutputStream out, Observer probe) {
    super(out);
    this.probe = probe;
  }

  public ProbeOutputStream(OutputStream out, Probe probe) {
    this(out, probe::update);
  }

  @Override
  public void write(int b) throws IOException {
    out.write(b);
    probe.update(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
    probe.update(b, off, len);
  }
}
