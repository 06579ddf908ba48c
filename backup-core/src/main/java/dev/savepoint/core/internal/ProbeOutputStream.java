package dev.savepoint.core.internal;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/** Passes bytes through to {@code out} and feeds them to a {@link Probe}. */
public final class ProbeOutputStream extends FilterOutputStream {
  private final Probe probe;

  public ProbeOutputStream(OutputStream out, Probe probe) {
    super(out);
    this.probe = probe;
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
