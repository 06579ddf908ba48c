package dev.savepoint.gcs;

import com.google.auth.oauth2.GoogleCredentials;
import com.google.auth.oauth2.ServiceAccountCredentials;
import com.google.cloud.NoCredentials;
import com.google.cloud.ReadChannel;
import com.google.cloud.WriteChannel;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageClass;
import com.google.cloud.storage.StorageException;
import com.google.cloud.storage.StorageOptions;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.TransientStoreException;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.PagedListing;
import dev.savepoint.core.internal.RangeInputStream;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import dev.savepoint.core.store.Stores;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.Channels;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Store} in a Google Cloud Storage bucket, under an optional prefix. Uploads are resumable uploads
 * of unknown length, sent in chunks of {@code chunkSize} (memory bounded by one chunk); the object appears
 * only when the upload is finalized, which happens only after the whole input was read without error, so
 * a failed backup leaves no object. Storage class (STANDARD, NEARLINE, COLDLINE, ARCHIVE) applies to
 * artifacts; repository metadata stays STANDARD. Optional CMEK key name. Credentials come from Application
 * Default Credentials (or the {@link Storage} you build) and never appear in messages.
 *
 * <p>Coded against GCS's API semantics, not a fake's: listing is sorted here (GCS sorts, fakes may not), and a
 * missing size in a returned blob is measured instead of trusted.
 */
public final class GcsStore implements Store {
  private final Storage storage;
  private final String bucket;
  private final String prefix;
  private final int chunkSize;
  private final @Nullable StorageClass storageClass;
  private final @Nullable String kmsKeyName;
  private final boolean temporaryHold;
  private final boolean eventBasedHold;
  private final java.time.@Nullable Duration retention;
  private final boolean retentionLocked;
  private final boolean sortedListing;

  private GcsStore(Builder b) {
    this.storage = b.storage;
    this.bucket = b.bucket;
    this.prefix = b.prefix;
    this.chunkSize = b.chunkSize;
    this.storageClass = b.storageClass;
    this.kmsKeyName = b.kmsKeyName;
    this.temporaryHold = b.temporaryHold;
    this.eventBasedHold = b.eventBasedHold;
    this.retention = b.retention;
    this.retentionLocked = b.retentionLocked;
    this.sortedListing = b.sortedListing;
  }

  public static Builder builder(Storage storage, String bucket) {
    return new Builder(storage, bucket);
  }

  /**
   * Opens {@code gs://bucket/prefix?storageClass=ARCHIVE&credentialsFile=/etc/savepoint/sa.json}. Credentials:
   * the service-account key JSON named by {@code credentialsFile}, else Application Default Credentials; with
   * an emulator host ({@code emulatorHost=http://127.0.0.1:4443} or {@code STORAGE_EMULATOR_HOST}), none.
   */
  public static GcsStore fromUri(String uri) throws ConfigurationException {
    URI u = URI.create(uri);
    if (!"gs".equals(u.getScheme()) || u.getHost() == null) {
      throw new ConfigurationException("GCS repository URI must look like gs://bucket/prefix");
    }
    String emulator = System.getenv("STORAGE_EMULATOR_HOST");
    String storageClass = null;
    java.nio.file.Path credentialsFile = null;
    if (u.getRawQuery() != null) {
      for (String kv : u.getRawQuery().split("&")) {
        String[] p = kv.split("=", 2);
        if (p[0].equals("emulatorHost")) {
          emulator = java.net.URLDecoder.decode(p[1], java.nio.charset.StandardCharsets.UTF_8);
        } else if (p[0].equals("storageClass")) {
          storageClass = p[1];
        } else if (p[0].equals("credentialsFile")) {
          credentialsFile = java.nio.file.Path.of(java.net.URLDecoder.decode(p[1], java.nio.charset.StandardCharsets.UTF_8));
        }
      }
    }
    StorageOptions.Builder options = StorageOptions.newBuilder();
    if (emulator != null && !emulator.isBlank()) {
      options.setHost(emulator).setProjectId("savepoint-emulator").setCredentials(NoCredentials.getInstance());
    } else if (credentialsFile != null) {
      options.setCredentials(serviceAccount(credentialsFile));
    }
    Builder b = builder(options.build().getService(), u.getHost()).prefix(u.getPath() == null ? "" : u.getPath());
    if (storageClass != null) {
      b.storageClass(StorageClass.valueOf(storageClass));
    }
    return b.build();
  }

  /**
   * Credentials from a service-account key JSON file. A file that is not one is a {@link ConfigurationException}
   * naming the file, never quoting it: it holds a private key.
   */
  public static GoogleCredentials serviceAccount(java.nio.file.Path json) throws ConfigurationException {
    try (InputStream in = java.nio.file.Files.newInputStream(json)) {
      return ServiceAccountCredentials.fromStream(in)
          .createScoped(List.of("https://www.googleapis.com/auth/devstorage.read_write"));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new ConfigurationException("service-account key file " + json + " does not exist");
    } catch (IOException | RuntimeException e) {
      // Parser messages may quote the file; report only what kind of failure it was.
      throw new ConfigurationException("cannot load service-account credentials from " + json + " ("
          + e.getClass().getSimpleName() + "); expected a service-account key JSON downloaded from IAM");
    }
  }

  private String objectName(String key) {
    return prefix + Keys.requireObjectKey(key);
  }

  /**
   * A rewrite from another {@code GcsStore} of the same service (any bucket) into this store's storage class,
   * e.g. into an ARCHIVE-class bucket for the 7-year copy. Stores with a CMEK key, and sources this client
   * may not read, are left to streaming.
   */
  @Override
  public boolean copyInService(Store source, String key) throws IOException {
    if (!(Stores.backend(source) instanceof GcsStore from) || kmsKeyName != null
        || !(from.storage == storage || from.storage.getOptions().getHost().equals(storage.getOptions().getHost()))) {
      return false;
    }
    String name = objectName(key);
    try {
      // getResult() drives the rewrite to completion, one rewrite call per chunk the service asks for.
      storage.copy(Storage.CopyRequest.newBuilder().setSource(BlobId.of(from.bucket, from.objectName(key)))
          .setTarget(blobInfo(key)).build()).getResult();
      return true;
    } catch (StorageException e) {
      if (e.getCode() == 403) {
        return false;
      }
      throw map("copy " + from.describe() + key + " to " + name, key, e);
    }
  }

  /**
   * The one place that decides how an object is written. Artifacts get the storage class; artifacts and
   * manifests get the holds and retention (so neither can be deleted early); the repository's working files
   * (leases, drill reports, approvals, audit) stay STANDARD and deletable.
   */
  private BlobInfo blobInfo(String key) {
    BlobInfo.Builder info = BlobInfo.newBuilder(BlobId.of(bucket, objectName(key)));
    if (storageClass != null && !Repository.isMetadataKey(key)) {
      info.setStorageClass(storageClass);
    }
    boolean protect = !Repository.isMetadataKey(key) || key.endsWith("/" + Repository.MANIFEST)
        || key.endsWith("/" + Repository.SIGNATURE);
    if (protect) {
      if (temporaryHold) {
        info.setTemporaryHold(true);
      }
      if (eventBasedHold) {
        info.setEventBasedHold(true);
      }
      if (retention != null) {
        info.setRetention(BlobInfo.Retention.newBuilder()
            .setMode(retentionLocked ? BlobInfo.Retention.Mode.LOCKED : BlobInfo.Retention.Mode.UNLOCKED)
            .setRetainUntilTime(java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC).plus(retention)).build());
      }
    }
    return info.build();
  }

  /** A {@code doesNotExist} precondition (generation 0): GCS answers 412 when the object exists. */
  @Override
  public boolean putIfAbsent(String key, byte[] content) throws IOException {
    String name = objectName(key);
    List<Storage.BlobWriteOption> options = new ArrayList<>(List.of(Storage.BlobWriteOption.doesNotExist()));
    if (kmsKeyName != null) {
      options.add(Storage.BlobWriteOption.kmsKeyName(kmsKeyName));
    }
    try (WriteChannel writer = storage.writer(blobInfo(key), options.toArray(Storage.BlobWriteOption[]::new))) {
      writer.write(java.nio.ByteBuffer.wrap(content));
    } catch (StorageException e) {
      // GCS answers 412; Google's in-memory fake (LocalStorageHelper) says FileAlreadyExistsException instead.
      if (e.getCode() == 412 || e.getCause() instanceof java.nio.file.FileAlreadyExistsException) {
        return false;
      }
      throw map("put " + name + " if absent", key, e);
    }
    return true;
  }

  @Override
  public void put(String key, InputStream content) throws IOException {
    String name = objectName(key);
    List<Storage.BlobWriteOption> options = new ArrayList<>();
    if (kmsKeyName != null) {
      options.add(Storage.BlobWriteOption.kmsKeyName(kmsKeyName));
    }
    boolean existed;
    try {
      existed = storage.get(BlobId.of(bucket, name)) != null;
    } catch (StorageException e) {
      throw map("put " + name, key, e);
    }
    try {
      WriteChannel writer = storage.writer(blobInfo(key), options.toArray(Storage.BlobWriteOption[]::new));
      writer.setChunkSize(chunkSize);
      OutputStream out = Channels.newOutputStream(writer);
      // A failure while reading leaves the resumable session unfinalized: GCS creates no object.
      content.transferTo(out);
      writer.close();
    } catch (StorageException e) {
      removePlaceholder(name, existed, e);
      throw map("put " + name, key, e);
    } catch (IOException | RuntimeException e) {
      removePlaceholder(name, existed, e);
      throw e;
    }
  }

  /**
   * Real GCS shows nothing of an unfinalized upload, but Google's in-memory fake registers a new object when
   * the writer opens. Deleting what did not exist before the failed upload makes both behave the same; on
   * real GCS it finds nothing to delete.
   */
  private void removePlaceholder(String name, boolean existed, Exception cause) {
    if (existed) {
      return;
    }
    try {
      storage.delete(BlobId.of(bucket, name));
    } catch (StorageException e) {
      cause.addSuppressed(e);
    }
  }

  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    String name = objectName(key);
    try {
      if (storage.get(BlobId.of(bucket, name)) == null) {
        throw new ObjectNotFoundException(key);
      }
      ReadChannel reader = storage.reader(BlobId.of(bucket, name));
      reader.setChunkSize(chunkSize);
      if (offset > 0) {
        reader.seek(offset);
      }
      InputStream in = Channels.newInputStream(reader);
      return length < 0 ? in : new RangeInputStream(in, length);
    } catch (StorageException e) {
      throw map("get " + name, key, e);
    }
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    String name = objectName(key);
    try {
      Blob blob = storage.get(BlobId.of(bucket, name));
      return blob == null ? Optional.empty() : Optional.of(info(key, blob));
    } catch (StorageException e) {
      throw map("stat " + name, key, e);
    }
  }

  private ObjectInfo info(String key, Blob blob) throws IOException {
    Long size = blob.getSize();
    if (size == null) {
      // Real GCS always returns sizes; Google's in-memory fake does not. Measure rather than guess.
      try (InputStream in = get(key)) {
        size = in.transferTo(OutputStream.nullOutputStream());
      }
    }
    Instant updated = blob.getUpdateTimeOffsetDateTime() == null ? Instant.EPOCH
        : blob.getUpdateTimeOffsetDateTime().toInstant();
    String etag = blob.getEtag() != null ? blob.getEtag()
        : blob.getGeneration() != null ? "generation-" + blob.getGeneration() : null;
    return new ObjectInfo(key, size, updated, etag);
  }

  @Override
  public List<ObjectInfo> list(String keyPrefix) throws IOException {
    List<ObjectInfo> result = PagedListing.collect(pages(keyPrefix));
    result.sort((a, b) -> Keys.compareCodePoints(a.key(), b.key()));
    return result;
  }

  /**
   * Streamed page by page in GCS's name order, never collected: a bucket backup of millions of objects merges it
   * with the previous index as it arrives. With {@link Builder#sortedListing(boolean) sortedListing(false)}
   * (an emulator that does not sort), the collected, sorted {@link #list}.
   */
  @Override
  public Iterable<ObjectInfo> listing(String keyPrefix) throws IOException {
    return sortedListing ? pages(keyPrefix) : list(keyPrefix);
  }

  /** Listed with the delimiter '/' (the "directories" GCS returns): a request per thousand folders. */
  @Override
  public List<String> folders(String keyPrefix) throws IOException {
    Keys.requireFolderPrefix(keyPrefix);
    String full = prefix + keyPrefix;
    java.util.TreeSet<String> names = new java.util.TreeSet<>(Keys::compareFolders);
    try {
      for (com.google.cloud.storage.Blob blob : storage.list(bucket, Storage.BlobListOption.prefix(full),
          Storage.BlobListOption.currentDirectory()).iterateAll()) {
        if (blob.isDirectory() && blob.getName().length() > full.length()) {
          names.add(blob.getName().substring(full.length(), blob.getName().length() - 1));
        }
      }
    } catch (StorageException e) {
      throw map("list " + full, keyPrefix, e);
    }
    return List.copyOf(names);
  }

  /** The objects under {@code keyPrefix} in the service's order, a page at a time. */
  private Iterable<ObjectInfo> pages(String keyPrefix) {
    Keys.requireValidPrefix(keyPrefix);
    return new PagedListing<>(
        () -> storage.list(bucket, Storage.BlobListOption.prefix(prefix + keyPrefix)).iterateAll().iterator(),
        blob -> info(blob.getName().substring(prefix.length()), blob),
        StorageException.class, e -> map("list " + prefix + keyPrefix, keyPrefix, e));
  }

  /**
   * Batched: up to 100 deletes per HTTP request (GCS's batch limit), so pruning a bucket backup of many objects is
   * not a request each. A batch answers only "deleted or not" per object, so each "not" (missing, or refused) is
   * deleted again on its own, where a refusal is an error. A {@link Storage} that cannot batch (Google's in-memory
   * fake) deletes them one by one.
   */
  @Override
  public void deleteAll(java.util.Collection<String> keys) throws IOException {
    List<String> all = List.copyOf(keys);
    for (int from = 0; from < all.size(); from += 100) {
      List<String> batch = all.subList(from, Math.min(all.size(), from + 100));
      List<Boolean> deleted;
      try {
        deleted = storage.delete(batch.stream().map(k -> BlobId.of(bucket, objectName(k))).toList());
      } catch (UnsupportedOperationException noBatches) {
        deleted = java.util.Collections.nCopies(batch.size(), false);
      } catch (StorageException e) {
        throw map("delete " + batch.size() + " objects from " + objectName(batch.get(0)), batch.get(0), e);
      }
      for (int i = 0; i < batch.size(); i++) {
        if (!Boolean.TRUE.equals(deleted.get(i))) {
          delete(batch.get(i));
        }
      }
    }
  }

  @Override
  public void delete(String key) throws IOException {
    String name = objectName(key);
    try {
      storage.delete(BlobId.of(bucket, name));
    } catch (StorageException e) {
      throw map("delete " + name, key, e);
    }
  }

  private IOException map(String what, String key, StorageException e) {
    int code = e.getCode();
    if (code == 404) {
      String reason = String.valueOf(e.getReason());
      return reason.contains("notFound") && what.startsWith("get") ? new ObjectNotFoundException(key)
          : new StoreException(what + ": not found (does bucket '" + bucket + "' exist?)", e);
    }
    if (code == 401 || code == 403) {
      return new StoreException(what + ": access denied to bucket '" + bucket + "'; check the credentials", e);
    }
    if (code == 0) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      String message = what + ": no response from GCS (" + root.getClass().getSimpleName() + ": "
          + root.getMessage() + "); check the network or the emulator host";
      // An unknown host will not resolve on a retry; fail at once instead of retrying for minutes.
      return root instanceof java.net.UnknownHostException ? new StoreException(message, e)
          : new TransientStoreException(message, e);
    }
    if (e.isRetryable() || code == 429 || code >= 500) {
      return new TransientStoreException(what + " failed (" + code + "): " + e.getMessage(), e);
    }
    return new StoreException(what + " failed (" + code + "): " + e.getMessage(), e);
  }

  /** The configured class, else {@code STANDARD} (for a bucket whose default class differs, name it in the price file). */
  @Override
  public java.util.Optional<String> storageClass() {
    return java.util.Optional.of(storageClass == null ? "STANDARD" : storageClass.name());
  }

  @Override
  public String describe() {
    return "gs://" + bucket + "/" + prefix;
  }

  @Override
  public String toString() {
    return describe();
  }

  /** Options of a {@link GcsStore}. */
  public static final class Builder {
    private final Storage storage;
    private final String bucket;
    private String prefix = "";
    private int chunkSize = 8 * 1024 * 1024;
    private @Nullable StorageClass storageClass;
    private @Nullable String kmsKeyName;
    private boolean temporaryHold;
    private boolean eventBasedHold;
    private java.time.@Nullable Duration retention;
    private boolean retentionLocked;
    private boolean sortedListing = true;

    private Builder(Storage storage, String bucket) {
      this.storage = Objects.requireNonNull(storage);
      this.bucket = Objects.requireNonNull(bucket);
    }

    public Builder prefix(String prefix) {
      String p = prefix.replaceAll("^/+", "");
      this.prefix = p.isEmpty() || p.endsWith("/") ? p : p + "/";
      return this;
    }

    /**
     * Whether the service lists objects in name order, as GCS and fake-gcs-server do (the default): listings are
     * then streamed page by page. {@code false} for an emulator that does not sort (Google's in-memory
     * {@code LocalStorageHelper}): listings are collected and sorted in memory. (A bucket backup given a listing
     * out of order copies again what it could have reused, and says so.)
     */
    public Builder sortedListing(boolean sorted) {
      this.sortedListing = sorted;
      return this;
    }

    /** Resumable upload chunk size (a multiple of 256 KiB); the memory one upload holds. */

    public Builder chunkSize(int bytes) {
      if (bytes < 256 * 1024 || bytes % (256 * 1024) != 0) {
        throw new IllegalArgumentException("chunk size must be a positive multiple of 256 KiB, got " + bytes);
      }
      this.chunkSize = bytes;
      return this;
    }

    /** STANDARD, NEARLINE, COLDLINE or ARCHIVE for artifacts. */
    public Builder storageClass(StorageClass storageClass) {
      this.storageClass = storageClass;
      return this;
    }

    /** Customer-managed encryption key (projects/.../cryptoKeys/...). */
    public Builder kmsKeyName(String kmsKeyName) {
      this.kmsKeyName = kmsKeyName;
      return this;
    }

    /**
     * Puts a temporary hold on every artifact and manifest: none can be deleted or replaced until the hold is
     * released (by an operator, outside Savepoint). Ransomware protection for the archive; prune cannot delete
     * held backups either.
     */
    public Builder temporaryHold(boolean hold) {
      this.temporaryHold = hold;
      return this;
    }

    /** Puts an event-based hold on every artifact and manifest (bucket retention counts from its release). */
    public Builder eventBasedHold(boolean hold) {
      this.eventBasedHold = hold;
      return this;
    }

    /**
     * Object retention (WORM) for every artifact and manifest: not deletable for {@code duration} after it is
     * written. {@code locked}: not even an administrator can shorten it. Needs a bucket with object retention
     * enabled.
     */
    public Builder retention(java.time.Duration duration, boolean locked) {
      this.retention = duration;
      this.retentionLocked = locked;
      return this;
    }

    public GcsStore build() {
      return new GcsStore(this);
    }
  }
}
