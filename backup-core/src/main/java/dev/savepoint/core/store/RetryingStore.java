package dev.savepoint.core.store;

import dev.savepoint.core.TransientStoreException;
import dev.savepoint.core.internal.Keys;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries {@link TransientStoreException}s with backoff. Only replayable work is retried: reads, stats,
 * listings, deletes and {@link #put(String, ByteSource)}. A put from a plain {@link InputStream} goes
 * through once, because its bytes cannot be sent again.
 */
public final class RetryingStore extends ForwardingStore {
  private static final Logger log = LoggerFactory.getLogger(RetryingStore.class);

  private final RetryPolicy policy;

  public RetryingStore(Store delegate, RetryPolicy policy) {
    super(delegate);
    this.policy = policy;
  }

  @FunctionalInterface
  private interface Call<T> {
    T run() throws IOException;
  }

  @FunctionalInterface
  private interface Action {
    void run() throws IOException;
  }

  private void retrying(String what, Action action) throws IOException {
    retry(what, () -> {
      action.run();
      return Boolean.TRUE;
    });
  }

  private <T> T retry(String what, Call<T> call) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        return call.run();
      } catch (TransientStoreException e) {
        if (attempt >= policy.maxAttempts()) {
          throw e;
        }
        long cap = policy.delayCap(attempt + 1).toMillis();
        long sleep = cap == 0 ? 0 : ThreadLocalRandom.current().nextLong(cap + 1);
        log.warn("{} failed (attempt {} of {}), retrying in {} ms: {}",
            what, attempt, policy.maxAttempts(), sleep, e.getMessage());
        try {
          Thread.sleep(sleep);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          InterruptedIOException interrupted = new InterruptedIOException("interrupted while retrying " + what);
          interrupted.addSuppressed(e);
          throw interrupted;
        }
      }
    }
  }

  @Override
  public void put(String key, ByteSource content) throws IOException {
    retrying("put " + key, () -> delegate.put(key, content));
  }

  /**
   * A retried conditional write whose first attempt reached the store answers false: the caller compares what is
   * there, as it does for any other writer's object.
   */
  @Override
  public boolean putIfAbsent(String key, byte[] content) throws IOException {
    return retry("put " + key + " if absent", () -> delegate.putIfAbsent(key, content));
  }

  /**
   * A read that breaks with a {@link TransientStoreException} (a connection reset mid-download) goes on from where
   * it broke with a ranged get, not from the start; each break gets the policy's attempts.
   */
  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    return new Resuming(key, offset, length, retry("get " + key, () -> delegate.get(key, offset, length)));
  }

  private final class Resuming extends java.io.FilterInputStream {
    private final String key;
    private final long offset;
    private final long length;
    private long read;

    Resuming(String key, long offset, long length, InputStream first) {
      super(first);
      this.key = key;
      this.offset = offset;
      this.length = length;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      for (int attempt = 1; ; attempt++) {
        try {
          int n = in.read(b, off, len);
          if (n > 0) {
            read += n;
          }
          return n;
        } catch (TransientStoreException e) {
          if (attempt >= policy.maxAttempts()) {
            throw e;
          }
          log.warn("reading {} broke after {} bytes ({}); going on from there", key, read, e.getMessage());
          try {
            in.close();
          } catch (IOException ignored) {
            // The broken connection.
          }
          in = retry("get " + key + " from byte " + (offset + read),
              () -> delegate.get(key, offset + read, length < 0 ? -1 : length - read));
        }
      }
    }

    @Override
    public long skip(long n) throws IOException {
      byte[] buffer = new byte[(int) Math.min(n, 8192)];
      int r = read(buffer, 0, buffer.length);
      return Math.max(r, 0);
    }
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return retry("stat " + key, () -> delegate.stat(key));
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    return retry("list " + prefix, () -> delegate.list(prefix));
  }

  @Override
  public void deleteAll(java.util.Collection<String> keys) throws IOException {
    retrying("delete " + keys.size() + " objects", () -> delegate.deleteAll(keys));
  }

  @Override
  public void delete(String key) throws IOException {
    retrying("delete " + key, () -> delegate.delete(key));
  }

  @Override
  public List<String> folders(String prefix) throws IOException {
    return retry("list " + prefix, () -> delegate.folders(prefix));
  }

  /**
   * The delegate's listing, streamed; one that breaks with a {@link TransientStoreException} (a page request failing)
   * is listed again and goes on after the last object it returned — keys come in order — each break with the
   * policy's attempts.
   */
  @Override
  public Iterable<ObjectInfo> listing(String prefix) throws IOException {
    Iterable<ObjectInfo> first = retry("list " + prefix, () -> delegate.listing(prefix));
    return () -> new ResumingListing(prefix, first.iterator());
  }

  private final class ResumingListing implements java.util.Iterator<ObjectInfo> {
    private final String prefix;
    private java.util.Iterator<ObjectInfo> objects;
    private @Nullable ObjectInfo next;
    /** The key of the last object returned: a listing started again skips it and what comes before. */
    private @Nullable String last;

    ResumingListing(String prefix, java.util.Iterator<ObjectInfo> first) {
      this.prefix = prefix;
      this.objects = first;
    }

    private java.util.Iterator<ObjectInfo> again() {
      try {
        return retry("list " + prefix, () -> delegate.listing(prefix).iterator());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    @Override
    public boolean hasNext() {
      int attempt = 1;
      while (next == null) {
        try {
          if (!objects.hasNext()) {
            return false;
          }
          ObjectInfo o = objects.next();
          if (last == null || Keys.compareCodePoints(o.key(), last) > 0) {
            next = o;
          }
        } catch (java.io.UncheckedIOException e) {
          if (!(e.getCause() instanceof TransientStoreException) || attempt++ >= policy.maxAttempts()) {
            throw e;
          }
          log.warn("listing {} broke after '{}' ({}); listing again from there", prefix, last, e.getCause().getMessage());
          objects = again();
        }
      }
      return true;
    }

    @Override
    public ObjectInfo next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      ObjectInfo o = Objects.requireNonNull(next); // hasNext() found it
      next = null;
      last = o.key();
      return o;
    }
  }
}
