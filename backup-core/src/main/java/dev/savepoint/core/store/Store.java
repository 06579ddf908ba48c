package dev.savepoint.core.store;

import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.PagedListing;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * Object storage as Savepoint needs it: keys are {@code /}-separated relative paths without {@code .} or
 * {@code ..} segments. Implementations are thread-safe.
 *
 * <p>An object written by {@code put} becomes visible only when {@code put} returns normally: a failed or
 * interrupted put (including one whose input stream throws) leaves no object and does not replace an
 * existing one. This is what makes the manifest-last rule of the repository safe.
 */
public interface Store {

  /**
   * Streams {@code content} (of unknown length) to {@code key}, replacing any existing object. Reads the
   * stream to its end but does not close it. A stream cannot be replayed, so implementations do not retry
   * it as a whole; they may retry parts they have buffered themselves.
   */
  void put(String key, InputStream content) throws IOException;

  /**
   * Writes a replayable source. Decorators such as {@link RetryingStore} may reopen it to retry.
   */
  default void put(String key, ByteSource content) throws IOException {
    try (InputStream in = content.openStream()) {
      put(key, in);
    }
  }

  /** Opens the whole object. Throws {@link ObjectNotFoundException} if it does not exist. */
  /**
   * Writes {@code content} at {@code key} only if no object is there; true if this call created it. Of two
   * concurrent writers exactly one gets true where the service can decide atomically (S3 {@code If-None-Match: *},
   * a GCS {@code doesNotExist} precondition, an exclusive link on a filesystem, the in-memory map). This default
   * checks, then writes — not atomic — for stores that cannot do better.
   */
  default boolean putIfAbsent(String key, byte[] content) throws IOException {
    if (stat(key).isPresent()) {
      return false;
    }
    put(key, ByteSource.wrap(content));
    return true;
  }

  default InputStream get(String key) throws IOException {
    return get(key, 0, -1);
  }

  /**
   * Opens {@code length} bytes starting at {@code offset} ({@code length < 0}: to the end). The caller
   * closes the stream. Throws {@link ObjectNotFoundException} if the object does not exist.
   */
  InputStream get(String key, long offset, long length) throws IOException;

  /** Size and time of an object, or empty if it does not exist. */
  Optional<ObjectInfo> stat(String key) throws IOException;

  /**
   * Every object whose key starts with {@code prefix}, sorted by key: by Unicode code point, the order of the keys'
   * UTF-8 bytes, in which S3 and GCS list.
   */
  List<ObjectInfo> list(String prefix) throws IOException;

  /**
   * The same objects as {@link #list}, sorted by key, fetched as the caller iterates (a page or a directory at a
   * time) so that a listing of millions of objects need not fit in memory. A failure while iterating is thrown as
   * an {@link java.io.UncheckedIOException} wrapping the store's exception. The default is {@link #list}.
   */
  default Iterable<ObjectInfo> listing(String prefix) throws IOException {
    return list(prefix);
  }

  /**
   * The folders directly under {@code prefix} (empty or ending with '/'): each distinct {@code name} such that some
   * key starts with {@code prefix + name + "/"}, in the order of those keys. Where the service can list with a
   * delimiter (S3, GCS) or the store is a directory, that is a request per thousand folders, however many objects
   * lie beneath them — how a repository finds its plans and backups; the default walks {@link #listing}.
   */
  default List<String> folders(String prefix) throws IOException {
    Keys.requireFolderPrefix(prefix);
    java.util.TreeSet<String> names = new java.util.TreeSet<>(Keys::compareFolders);
    Iterable<ObjectInfo> objects = listing(prefix);
    PagedListing.iterate(() -> {
      for (ObjectInfo o : objects) {
        int slash = o.key().indexOf('/', prefix.length());
        if (slash >= 0) {
          names.add(o.key().substring(prefix.length(), slash));
        }
      }
    });
    return List.copyOf(names);
  }

  /** Deletes an object; deleting a missing object is not an error. */
  void delete(String key) throws IOException;

  /**
   * Deletes these objects (missing ones are not an error). Stores that can delete many in one request (S3's
   * DeleteObjects) do; the default deletes them one by one. Decorators that watch single deletes see each.
   */
  default void deleteAll(java.util.Collection<String> keys) throws IOException {
    for (String key : keys) {
      delete(key);
    }
  }

  /**
   * Removes the remains of writes that never finished and started more than {@code olderThan} ago (temporary
   * files, incomplete multipart uploads); returns how many were removed. Stores without such remains do
   * nothing.
   */
  default int cleanupIncomplete(java.time.Duration olderThan) throws IOException {
    return 0;
  }

  /**
   * Copies the object {@code key} of {@code source} to the same key in this store inside the storage service
   * (S3 CopyObject, GCS rewrite), so the bytes do not pass through this process, and gives the copy this
   * store's write settings (storage class, encryption). Returns false, having done nothing, when it cannot:
   * another service, no read access, an object too large for one copy request. The caller then streams it.
   * {@code source} may be decorated; stores look through {@link ForwardingStore}s with {@link Stores#backend}.
   */
  default boolean copyInService(Store source, String key) throws IOException {
    return false;
  }

  /** Archive storage-class support (restore requests), if this store has archive classes. */
  default java.util.Optional<ArchiveSupport> archive() {
    return java.util.Optional.empty();
  }

  /**
   * The storage class new objects are written with (S3 {@code STANDARD}, {@code GLACIER_IR}, {@code DEEP_ARCHIVE}, GCS
   * {@code NEARLINE}, …), as a price table names it; empty where storage is not billed per class (a local disk).
   */
  default java.util.Optional<String> storageClass() {
    return java.util.Optional.empty();
  }

  /** A description for logs and messages: never contains credentials. */
  String describe();
}
