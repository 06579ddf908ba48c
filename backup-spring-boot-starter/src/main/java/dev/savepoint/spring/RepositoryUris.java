package dev.savepoint.spring;

import dev.savepoint.core.Repository;
import dev.savepoint.core.store.Stores;
import java.io.IOException;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Repositories from the URIs of {@code savepoint.repository} and {@code copy-to}: {@code file:/path},
 * and {@code s3://bucket/prefix?region=…} (needs {@code dev.savepoint:backup-s3}; credentials from the AWS SDK's
 * default chain). For GCS define a Repository bean (Google's libraries and Spring Boot's manage shared
 * dependencies differently; the application picks). Errors name the key.
 */
final class RepositoryUris {
  private RepositoryUris() {}

  /**
   * As {@link #open(String, String)}; a {@code file:} repository that cannot be opened now (an unmounted volume) is,
   * unless {@code failNow}, one that opens on first use and fails each use until it can: the start goes on, the
   * scheduler and the health indicator say what is wrong.
   */
  static Repository open(String key, @Nullable String uri, boolean failNow) {
    try {
      return open(key, uri);
    } catch (SavepointPropertyException e) {
      if (failNow || uri == null || !uri.startsWith("file:") || !(e.getCause() instanceof IOException)) {
        throw e;
      }
      org.slf4j.LoggerFactory.getLogger(RepositoryUris.class).warn("{} (opened on first use; "
          + "savepoint.fail-on-startup-error=true stops the start instead)", e.getMessage());
      Path root = Path.of(uri.substring("file:".length()));
      return new Repository(Stores.standard(whenAvailable(root)));
    }
  }

  /** A filesystem store opened on first use, and again on each use until it opens. */
  private static dev.savepoint.core.store.Store whenAvailable(Path root) {
    java.util.concurrent.atomic.AtomicReference<dev.savepoint.core.store.Store> opened =
        new java.util.concurrent.atomic.AtomicReference<>();
    return (dev.savepoint.core.store.Store) java.lang.reflect.Proxy.newProxyInstance(RepositoryUris.class.getClassLoader(),
        new Class<?>[] {dev.savepoint.core.store.Store.class}, (proxy, method, args) -> {
          if (method.getName().equals("describe") && opened.get() == null) {
            return "file:" + root + " (not available yet)";
          }
          dev.savepoint.core.store.Store store = opened.get();
          if (store == null) {
            store = new dev.savepoint.core.store.FilesystemStore(root); // throws the IOException that says why
            opened.compareAndSet(null, store);
            store = opened.get();
          }
          try {
            return method.invoke(store, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  static Repository open(String key, @Nullable String uri) {
    if (uri == null || uri.isBlank()) {
      throw new SavepointPropertyException(key + " is not set: give file:/path or s3://bucket/prefix, or define a "
          + "Repository bean");
    }
    try {
      if (uri.startsWith("file:")) {
        return new Repository(Stores.filesystem(Path.of(uri.substring("file:".length()))));
      }
      if (uri.startsWith("s3://")) {
        requireClass(key, uri, "dev.savepoint.s3.S3Store", "backup-s3");
        return S3.open(uri);
      }
    } catch (IOException e) {
      throw new SavepointPropertyException(key + " '" + redact(uri) + "': " + e.getMessage(), e);
    }
    throw new SavepointPropertyException(key + " is '" + redact(uri) + "': use file:/path or s3://bucket/prefix (for "
        + "GCS, define a Repository bean: new Repository(Stores.standard(GcsStore.fromUri(\"gs://…\"))))");
  }

  private static void requireClass(String key, String uri, String className, String artifact) {
    try {
      Class.forName(className, false, RepositoryUris.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new SavepointPropertyException(key + " is '" + redact(uri) + "': add dev.savepoint:" + artifact
          + " to the application's dependencies");
    }
  }

  /** The objects under an {@code s3://bucket/prefix} URI, as a plan's source (uploads). */
  static dev.savepoint.core.Source bucket(String key, String uri) throws IOException {
    requireClass(key, uri, "dev.savepoint.s3.S3Store", "backup-s3");
    return S3.bucket(uri);
  }

  /** A URI as errors show it: without a query, where credentials could be. */
  static String redact(String uri) {
    String redacted = dev.savepoint.core.security.Redaction.uri(uri);
    int q = redacted.indexOf('?');
    return q < 0 ? redacted : redacted.substring(0, q) + "?…";
  }

  /** Loaded only when an s3:// URI is used. */
  private static final class S3 {
    static Repository open(String uri) throws IOException {
      return new Repository(Stores.standard(dev.savepoint.s3.S3Store.fromUri(uri)));
    }

    static dev.savepoint.core.Source bucket(String uri) throws IOException {
      return dev.savepoint.core.sources.BucketSource.of(dev.savepoint.s3.S3Store.fromUri(uri));
    }
  }
}
