package dev.savepoint.testkit;

import dev.savepoint.core.TransientStoreException;
import dev.savepoint.core.store.ForwardingStore;
import dev.savepoint.core.store.Store;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A store double that fails on demand, for testing what callers do with failures. Faults are transient
 * ({@link TransientStoreException}) so retry decorators see them as retryable. Thread-safe.
 */
public final class FaultInjectingStore extends ForwardingStore {
  private final AtomicInteger failPutsRemaining = new AtomicInteger();
  private volatile long failPutAfterBytes = -1;
  private volatile Predicate<String> keyFilter = key -> true;
  private final AtomicInteger putAttempts = new AtomicInteger();

  public FaultInjectingStore(Store delegate) {
    super(delegate);
  }

  /** The next {@code n} puts of matching keys fail before writing anything. */
  public FaultInjectingStore failNextPuts(int n) {
    failPutsRemaining.set(n);
    return this;
  }

  /** Every put of a matching key fails after reading {@code bytes} bytes of its input. */
  public FaultInjectingStore failPutsAfter(long bytes) {
    failPutAfterBytes = bytes;
    return this;
  }

  /** Limits faults to keys matching {@code filter}. */
  public FaultInjectingStore onlyFor(Predicate<String> filter) {
    keyFilter = filter;
    return this;
  }

  public int putAttempts() {
    return putAttempts.get();
  }

  @Override
  public void put(String key, InputStream content) throws IOException {
    putAttempts.incrementAndGet();
    if (keyFilter.test(key)) {
      if (failPutsRemaining.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new TransientStoreException("injected fault: put " + key);
      }
      long limit = failPutAfterBytes;
      if (limit >= 0) {
        content = new FailingAfter(content, limit, key);
      }
    }
    delegate.put(key, content);
  }

  private static final class FailingAfter extends FilterInputStream {
    private final long limit;
    private final String key;
    private long read;

    FailingAfter(InputStream in, long limit, String key) {
      super(in);
      this.limit = limit;
      this.key = key;
    }

    @Override
    public int read() throws IOException {
      check(1);
      int b = in.read();
      read += b < 0 ? 0 : 1;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      check(len);
      int n = in.read(b, off, (int) Math.min(len, Math.max(1, limit - read)));
      read += Math.max(n, 0);
      return n;
    }

    private void check(int len) throws TransientStoreException {
      if (read >= limit) {
        throw new TransientStoreException("injected fault: connection reset after " + read + " bytes of " + key);
      }
    }
  }
}
