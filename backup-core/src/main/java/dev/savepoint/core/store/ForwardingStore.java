package dev.savepoint.core.store;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A store that forwards every call to another; decorators override only what they change.
 * {@link #put(String, ByteSource)} is deliberately not forwarded: it opens the source and calls this
 * decorator's {@link #put(String, InputStream)}, so a decorator that changes writes sees every write.
 * Decorators that can use replayability (retrying, metering) override it.
 */
public abstract class ForwardingStore implements Store {
  protected final Store delegate;

  protected ForwardingStore(Store delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public void put(String key, InputStream content) throws IOException {
    delegate.put(key, content);
  }

  @Override
  public boolean putIfAbsent(String key, byte[] content) throws IOException {
    return delegate.putIfAbsent(key, content);
  }

  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    return delegate.get(key, offset, length);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return delegate.stat(key);
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    return delegate.list(prefix);
  }

  @Override
  public List<String> folders(String prefix) throws IOException {
    return delegate.folders(prefix);
  }

  @Override
  public void delete(String key) throws IOException {
    delegate.delete(key);
  }

  @Override
  public int cleanupIncomplete(java.time.Duration olderThan) throws IOException {
    return delegate.cleanupIncomplete(olderThan);
  }

  @Override
  public boolean copyInService(Store source, String key) throws IOException {
    return delegate.copyInService(source, key);
  }

  @Override
  public Optional<ArchiveSupport> archive() {
    return delegate.archive();
  }

  @Override
  public Optional<String> storageClass() {
    return delegate.storageClass();
  }

  @Override
  public String describe() {
    return delegate.describe();
  }
}
