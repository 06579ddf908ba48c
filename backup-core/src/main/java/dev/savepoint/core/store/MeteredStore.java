package dev.savepoint.core.store;

import dev.savepoint.core.internal.CountingInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicLong;

/** Counts bytes written and read and objects written through it. Thread-safe. */
public final class MeteredStore extends ForwardingStore {
  private final AtomicLong bytesWritten = new AtomicLong();
  private final AtomicLong bytesRead = new AtomicLong();
  private final AtomicLong objectsWritten = new AtomicLong();

  public MeteredStore(Store delegate) {
    super(delegate);
  }

  @Override
  public void put(String key, InputStream content) throws IOException {
    CountingInputStream counted = new CountingInputStream(content);
    delegate.put(key, counted);
    bytesWritten.addAndGet(counted.count());
    objectsWritten.incrementAndGet();
  }

  @Override
  public void put(String key, ByteSource content) throws IOException {
    // Only the attempt that succeeded counts; a retry reopens the source and restarts the count.
    CountingInputStream[] lastAttempt = new CountingInputStream[1];
    delegate.put(key, () -> lastAttempt[0] = new CountingInputStream(content.openStream()));
    bytesWritten.addAndGet(lastAttempt[0] == null ? 0 : lastAttempt[0].count());
    objectsWritten.incrementAndGet();
  }

  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    return new CountingInputStream(delegate.get(key, offset, length), bytesRead::addAndGet);
  }

  @Override
  public void deleteAll(java.util.Collection<String> keys) throws IOException {
    delegate.deleteAll(keys); // in batches where the backend can
  }

  public long bytesWritten() {
    return bytesWritten.get();
  }

  public long bytesRead() {
    return bytesRead.get();
  }

  public long objectsWritten() {
    return objectsWritten.get();
  }

  /** The delegate's own listing, streamed. */
  @Override
  public Iterable<ObjectInfo> listing(String prefix) throws IOException {
    return delegate.listing(prefix);
  }
}
