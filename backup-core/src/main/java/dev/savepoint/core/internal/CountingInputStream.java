package dev.savepoint.core.internal;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.LongConsumer;

/** Counts the bytes read through it and optionally reports each read to a listener. */
public class CountingInputStream extends FilterInputStream {
  private final LongConsumer listener;
  private long count;

  public CountingInputStream(InputStream in) {
    this(in, n -> {});
  }

  public CountingInputStream(InputStream in, LongConsumer listener) {
    super(in);
    this.listener = listener;
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b >= 0) {
      counted(1);
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n > 0) {
      counted(n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    long skipped = in.skip(n);
    counted(skipped);
    return skipped;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  private void counted(long n) {
    count += n;
    listener.accept(n);
  }

  public long count() {
    return count;
  }
}
