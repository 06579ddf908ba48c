package dev.savepoint.core.store;

import java.nio.file.Path;

/**
 * Factories for stores, and the one place where decorators are layered. The order matters: faults and
 * retries happen closest to the backend, metering sees what the caller sees.
 */
public final class Stores {
  private Stores() {}

  /** A filesystem store rooted at {@code root}, with the standard decorators. */
  public static Store filesystem(Path root) throws java.io.IOException {
    return standard(new FilesystemStore(root));
  }

  /** {@code Metered(Retrying(backend))}: what the pipeline should talk to. */
  public static MeteredStore standard(Store backend) {
    return standard(backend, RetryPolicy.defaults());
  }

  public static MeteredStore standard(Store backend, RetryPolicy retryPolicy) {
    return new MeteredStore(new RetryingStore(backend, retryPolicy));
  }

  /** The store under every {@link ForwardingStore} decorator of {@code store}. */
  public static Store backend(Store store) {
    Store s = store;
    while (s instanceof ForwardingStore f) {
      s = f.delegate;
    }
    return s;
  }
}
