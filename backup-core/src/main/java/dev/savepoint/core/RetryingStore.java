package dev.savepoint.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
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
    retry("put " + key, () -> {
      delegate.put(key, content);
      return null;
    });
  }

  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    return retry("get " + key, () -> delegate.get(key, offset, length));
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
  public void delete(String key) throws IOException {
    retry("delete " + key, () -> {
      delegate.delete(key);
      return null;
    });
  }
}
