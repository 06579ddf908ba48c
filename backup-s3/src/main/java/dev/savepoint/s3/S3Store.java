package dev.savepoint.s3;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.ObjectArchivedException;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.TransientStoreException;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.PagedListing;
import dev.savepoint.core.store.ArchiveSupport;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import dev.savepoint.core.store.Stores;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectLockMode;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;
import software.amazon.awssdk.services.s3.model.TaggingDirective;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * A {@link Store} in an S3 bucket (AWS or S3-compatible), under an optional key prefix.
 *
 * <p>Uploads stream input of unknown length: up to one part is buffered in memory; objects smaller than a
 * part go up in a single PUT, larger ones as a multipart upload with {@code partsInFlight} parts sent at once
 * (memory is bounded by {@code (partsInFlight + 1) × partSize}). The part size doubles every 900 parts, so
 * a stream of 5 TB stays under S3's 10,000-part limit. Each part carries a CRC32 checksum and is retried by
 * the SDK (its bytes are buffered, so a retry resends exactly the same bytes). A failed or interrupted upload
 * is aborted, so no object and no orphaned parts remain; {@link #cleanupIncomplete} cleans up after killed
 * processes.
 *
 * <p>The configured storage class applies to artifacts; the repository's metadata (manifests, signatures,
 * reports, audit entries: {@link Repository#isMetadataKey}) is always written as STANDARD so that listing and
 * restore planning never need an archive restore.
 *
 * <p>Errors: missing objects are {@link ObjectNotFoundException}; 5xx, throttling and connection failures are
 * {@link TransientStoreException}; a missing bucket or denied access is a {@link StoreException} that says
 * so. Credentials never appear in messages or {@link #describe()}.
 */
// Over 500 lines: one class per service API surface, as GcsStore — the streaming multipart upload and the resuming
// download are its nested classes because they share the client, the bucket's options and its error mapping.
public final class S3Store implements Store {
  private static final Logger log = LoggerFactory.getLogger(S3Store.class);
  static final long MIN_PART = 5L * 1024 * 1024;
  static final long MAX_PART = 5L * 1024 * 1024 * 1024;

  private final S3Client client;
  private final String bucket;
  private final String prefix;
  private final long partSize;
  private final int partsInFlight;
  private final @Nullable StorageClass storageClass;
  private final @Nullable ServerSideEncryption sse;
  private final @Nullable String kmsKeyId;
  private final Map<String, String> tags;
  private final @Nullable Duration objectLockRetention;
  private final ExecutorService uploads;

  private S3Store(Builder b) {
    this.client = b.client;
    this.bucket = b.bucket;
    this.prefix = b.prefix;
    this.partSize = b.partSize;
    this.partsInFlight = b.partsInFlight;
    this.storageClass = b.storageClass;
    this.sse = b.sse;
    this.kmsKeyId = b.kmsKeyId;
    this.tags = Map.copyOf(b.tags);
    this.objectLockRetention = b.objectLockRetention;
    this.uploads = Executors.newCachedThreadPool(dev.savepoint.core.internal.DaemonThreads.named("savepoint-s3-part"));
  }

  public static Builder builder(S3Client client, String bucket) {
    return new Builder(client, bucket);
  }

  /**
   * Opens {@code s3://bucket/prefix?region=..&endpoint=..&pathStyle=true&storageClass=..&sse=AES256|aws:kms
   * &kmsKeyId=..}. Credentials come from the SDK's default chain (environment, profile, instance role).
   */
  public static S3Store fromUri(String uri) throws ConfigurationException {
    URI u = parse(uri);
    Map<String, String> q = query(u);
    Builder b = builder(clientFromUri(uri), u.getHost()).prefix(u.getPath() == null ? "" : u.getPath());
    if (q.containsKey("storageClass")) {
      b.storageClass(StorageClass.fromValue(q.get("storageClass")));
    }
    if (q.containsKey("sse")) {
      b.serverSideEncryption(ServerSideEncryption.fromValue(q.get("sse")), q.get("kmsKeyId"));
    }
    if (q.containsKey("partSizeMiB")) {
      b.partSize(Long.parseLong(q.get("partSizeMiB")) * 1024 * 1024);
    }
    return b.build();
  }

  /**
   * A client for {@code s3://bucket/...?region=..&endpoint=..&pathStyle=true}, with credentials from the SDK's
   * default chain.
   */
  public static S3Client clientFromUri(String uri) throws ConfigurationException {
    Map<String, String> q = query(parse(uri));
    var clientBuilder = S3Client.builder().region(Region.of(q.getOrDefault("region", "us-east-1")));
    if (q.containsKey("endpoint")) {
      clientBuilder.endpointOverride(URI.create(q.get("endpoint")));
    }
    return clientBuilder.forcePathStyle(Boolean.parseBoolean(q.getOrDefault("pathStyle", "false"))).build();
  }

  private static URI parse(String uri) throws ConfigurationException {
    URI u;
    try {
      u = URI.create(uri);
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException("malformed S3 URI: " + e.getMessage());
    }
    if (!"s3".equals(u.getScheme()) || u.getHost() == null) {
      throw new ConfigurationException("S3 URI must look like s3://bucket/prefix?region=...");
    }
    return u;
  }

  /** The query parameters an S3 URI may carry. */
  private static final java.util.List<String> PARAMETERS = java.util.List.of("region", "endpoint", "pathStyle",
      "storageClass", "sse", "kmsKeyId", "partSizeMiB");

  /**
   * The URI's parameters; one not in {@link #PARAMETERS} is refused, naming the nearest: a mistyped {@code ?regoin=}
   * would otherwise silently mean us-east-1.
   */
  private static Map<String, String> query(URI u) throws ConfigurationException {
    Map<String, String> q = new HashMap<>();
    if (u.getRawQuery() != null) {
      for (String kv : u.getRawQuery().split("&")) {
        String[] p = kv.split("=", 2);
        if (!PARAMETERS.contains(p[0])) {
          throw new ConfigurationException("unknown S3 URI parameter '" + p[0] + "'" + dev.savepoint.core.internal
              .Suggestions.nearest(p[0], PARAMETERS).map(n -> " (did you mean '" + n + "'?)").orElse("")
              + "; valid: " + String.join(", ", PARAMETERS));
        }
        q.put(p[0], p.length > 1 ? URLDecoder.decode(p[1], StandardCharsets.UTF_8) : "");
      }
    }
    return q;
  }

  /** A client for an explicit endpoint and key pair (S3-compatible servers, tests). */
  public static S3Client client(URI endpoint, String region, String accessKey, String secretKey) {
    return S3Client.builder().endpointOverride(endpoint).region(Region.of(region)).forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
        .build();
  }

  private String objectKey(String key) {
    return prefix + Keys.requireObjectKey(key);
  }

  /** The part size for part {@code n} (1-based): doubles every 900 parts, capped at S3's maximum. */
  long partSize(int n) {
    return Math.min(MAX_PART, partSize << Math.min((n - 1) / 900, 20));
  }

  @Override
  public void put(String key, InputStream content) throws IOException {
    String objectKey = objectKey(key);
    byte[] first = content.readNBytes((int) partSize);
    if (first.length < partSize) {
      putSingle(objectKey, first);
    } else {
      putMultipart(objectKey, first, content);
    }
  }

  /**
   * {@code If-None-Match: *}: S3 creates the object only if the key is free (412 otherwise; 409 when a concurrent
   * write to the key is in flight, which S3 says to retry). A server that ignores the header overwrites.
   */
  @Override
  public boolean putIfAbsent(String key, byte[] content) throws IOException {
    String objectKey = objectKey(key);
    try {
      client.putObject(writeRequest(objectKey).toBuilder().ifNoneMatch("*").build(), RequestBody.fromBytes(content));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 412) {
        return false;
      }
      if (e.statusCode() == 409) {
        throw new TransientStoreException("put " + objectKey + " if absent: a concurrent write "
            + "to the same key", e);
      }
      throw map("put " + objectKey + " if absent", objectKey, e);
    } catch (SdkException e) {
      throw map("put " + objectKey + " if absent", objectKey, e);
    }
  }

  private void putSingle(String objectKey, byte[] bytes) throws IOException {
    try {
      client.putObject(writeRequest(objectKey), RequestBody.fromBytes(bytes));
    } catch (SdkException e) {
      throw map("put " + objectKey, objectKey, e);
    }
  }

  /**
   * CopyObject from another {@code S3Store} on the same endpoint and region (any bucket), with this store's
   * write settings; objects over 5 GiB (one CopyObject's limit) and sources this client may not read are left
   * to streaming.
   */
  @Override
  public boolean copyInService(Store source, String key) throws IOException {
    if (!(Stores.backend(source) instanceof S3Store from) || !sameService(from)) {
      return false;
    }
    Optional<ObjectInfo> object = from.stat(key);
    if (object.isEmpty() || object.get().size() > MAX_PART) {
      return false;
    }
    String objectKey = objectKey(key);
    PutObjectRequest w = writeRequest(objectKey);
    CopyObjectRequest.Builder copy = CopyObjectRequest.builder().sourceBucket(from.bucket)
        .sourceKey(from.objectKey(key)).destinationBucket(bucket).destinationKey(objectKey)
        .checksumAlgorithm(w.checksumAlgorithm()).storageClass(w.storageClass())
        .serverSideEncryption(w.serverSideEncryption()).ssekmsKeyId(w.ssekmsKeyId())
        .objectLockMode(w.objectLockMode()).objectLockRetainUntilDate(w.objectLockRetainUntilDate());
    if (w.tagging() != null) {
      copy.tagging(w.tagging()).taggingDirective(TaggingDirective.REPLACE);
    }
    try {
      client.copyObject(copy.build());
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 403) {
        log.debug("no server-side copy from {} to {} ({}); streaming instead", from.describe(), describe(),
            e.getMessage());
        return false;
      }
      throw map("copy " + from.describe() + key + " to " + objectKey, objectKey, e);
    } catch (SdkException e) {
      throw map("copy " + from.describe() + key + " to " + objectKey, objectKey, e);
    }
  }

  private boolean sameService(S3Store other) {
    if (other.client == client) {
      return true;
    }
    var a = client.serviceClientConfiguration();
    var b = other.client.serviceClientConfiguration();
    return a.region().equals(b.region()) && a.endpointOverride().equals(b.endpointOverride());
  }

  /** The one place that decides how an object is written: checksum, storage class, encryption, tags, lock. */
  private PutObjectRequest writeRequest(String objectKey) {
    PutObjectRequest.Builder req = PutObjectRequest.builder().bucket(bucket).key(objectKey)
        .checksumAlgorithm(ChecksumAlgorithm.CRC32);
    // Manifests and reports stay readable without an archive restore.
    if (storageClass != null && !Repository.isMetadataKey(objectKey.substring(prefix.length()))) {
      req.storageClass(storageClass);
    }
    if (sse != null) {
      req.serverSideEncryption(sse);
      if (kmsKeyId != null) {
        req.ssekmsKeyId(kmsKeyId);
      }
    }
    if (!tags.isEmpty()) {
      req.tagging(tagging());
    }
    if (objectLockRetention != null) {
      req.objectLockMode(ObjectLockMode.COMPLIANCE).objectLockRetainUntilDate(Instant.now().plus(objectLockRetention));
    }
    return req.build();
  }

  private String tagging() {
    return tags.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
        .collect(Collectors.joining("&"));
  }

  private static String enc(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private void putMultipart(String objectKey, byte[] first, InputStream content) throws IOException {
    PutObjectRequest options = writeRequest(objectKey);
    CreateMultipartUploadRequest create = CreateMultipartUploadRequest.builder().bucket(bucket).key(objectKey)
        .checksumAlgorithm(options.checksumAlgorithmAsString()).storageClass(options.storageClassAsString())
        .serverSideEncryption(options.serverSideEncryptionAsString()).ssekmsKeyId(options.ssekmsKeyId())
        .tagging(options.tagging()).objectLockMode(options.objectLockModeAsString())
        .objectLockRetainUntilDate(options.objectLockRetainUntilDate()).build();
    String uploadId;
    try {
      uploadId = client.createMultipartUpload(create).uploadId();
    } catch (SdkException e) {
      throw map("start multipart upload of " + objectKey, objectKey, e);
    }
    List<Future<CompletedPart>> parts = new ArrayList<>();
    Semaphore slots = new Semaphore(partsInFlight);
    try {
      byte[] buffer = first;
      for (int n = 1; buffer.length > 0; n++) {
        if (n > 10_000) {
          throw new StoreException("object " + objectKey + " would need more than 10,000 parts");
        }
        slots.acquire();
        failFast(parts);
        int partNumber = n;
        byte[] bytes = buffer;
        parts.add(uploads.submit(() -> {
          try {
            return uploadPart(objectKey, uploadId, partNumber, bytes);
          } finally {
            slots.release();
          }
        }));
        buffer = content.readNBytes((int) partSize(n + 1));
      }
      List<CompletedPart> completed = new ArrayList<>();
      for (Future<CompletedPart> f : parts) {
        completed.add(await(f));
      }
      client.completeMultipartUpload(CompleteMultipartUploadRequest.builder().bucket(bucket).key(objectKey)
          .uploadId(uploadId).multipartUpload(CompletedMultipartUpload.builder().parts(completed).build()).build());
    } catch (IOException | RuntimeException | InterruptedException e) {
      parts.forEach(f -> f.cancel(true));
      abort(objectKey, uploadId, e);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while uploading " + objectKey);
      }
      if (e instanceof SdkException sdk) {
        throw map("complete multipart upload of " + objectKey, objectKey, sdk);
      }
      throw e instanceof IOException io ? io : new StoreException("upload of " + objectKey + " failed: " + e, e);
    }
  }

  private CompletedPart uploadPart(String objectKey, String uploadId, int partNumber, byte[] bytes) throws IOException {
    try {
      UploadPartResponse r = client.uploadPart(UploadPartRequest.builder().bucket(bucket).key(objectKey)
          .uploadId(uploadId).partNumber(partNumber).checksumAlgorithm(ChecksumAlgorithm.CRC32).build(),
          RequestBody.fromInputStream(new ByteArrayInputStream(bytes), bytes.length));
      return CompletedPart.builder().partNumber(partNumber).eTag(r.eTag()).checksumCRC32(r.checksumCRC32()).build();
    } catch (SdkException e) {
      throw map("upload part " + partNumber + " of " + objectKey, objectKey, e);
    }
  }

  private static void failFast(List<Future<CompletedPart>> parts) throws IOException, InterruptedException {
    for (Future<CompletedPart> f : parts) {
      if (f.isDone()) {
        await(f);
      }
    }
  }

  private static CompletedPart await(Future<CompletedPart> f) throws IOException, InterruptedException {
    try {
      return f.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new StoreException(String.valueOf(e.getCause()), e.getCause());
    }
  }

  private void abort(String objectKey, String uploadId, Exception cause) {
    try {
      client.abortMultipartUpload(AbortMultipartUploadRequest.builder().bucket(bucket).key(objectKey)
          .uploadId(uploadId).build());
      log.info("aborted multipart upload of {} after: {}", objectKey, cause.getMessage());
    } catch (SdkException e) {
      cause.addSuppressed(e);
      log.warn("could not abort multipart upload {} of {}; cleanupIncomplete will remove it: {}", uploadId,
          objectKey, e.getMessage());
    }
  }

  /** Aborts multipart uploads under this store's prefix started more than {@code olderThan} ago. */
  @Override
  public int cleanupIncomplete(Duration olderThan) throws IOException {
    Instant cutoff = Instant.now().minus(olderThan);
    int aborted = 0;
    try {
      for (MultipartUpload u : client.listMultipartUploadsPaginator(r -> r.bucket(bucket).prefix(prefix)).uploads()) {
        if (u.initiated().isBefore(cutoff)) {
          client.abortMultipartUpload(r -> r.bucket(bucket).key(u.key()).uploadId(u.uploadId()));
          aborted++;
        }
      }
    } catch (SdkException e) {
      throw map("list multipart uploads", prefix, e);
    }
    return aborted;
  }

  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    String objectKey = objectKey(key);
    if (length == 0) {
      stat(key).orElseThrow(() -> new ObjectNotFoundException(key));
      return InputStream.nullInputStream();
    }
    GetObjectRequest.Builder req = GetObjectRequest.builder().bucket(bucket).key(objectKey);
    if (offset > 0 || length > 0) {
      req.range("bytes=" + offset + "-" + (length < 0 ? "" : Long.toString(offset + length - 1)));
    }
    try {
      return new BreakReporting(client.getObject(req.build()), objectKey);
    } catch (NoSuchKeyException e) {
      throw new ObjectNotFoundException(key);
    } catch (SdkException e) {
      throw map("get " + objectKey, key, e);
    }
  }

  /** A download whose connection breaks is a {@link TransientStoreException}: the retrying store resumes it. */
  private static final class BreakReporting extends java.io.FilterInputStream {
    private final String objectKey;

    BreakReporting(InputStream response, String objectKey) {
      super(response);
      this.objectKey = objectKey;
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (IOException | SdkException e) {
        throw broken(e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (IOException | SdkException e) {
        throw broken(e);
      }
    }

    private TransientStoreException broken(Exception e) {
      return new TransientStoreException("download of " + objectKey + " broke: " + e.getMessage(), e);
    }
  }

  /** The storage class objects are written with: the configured one, else S3's default, {@code STANDARD}. */
  @Override
  public Optional<String> storageClass() {
    return Optional.of(storageClass == null ? "STANDARD" : storageClass.toString());
  }

  @Override
  public Optional<ArchiveSupport> archive() {
    return Optional.of(new ArchiveSupport() {
      @Override
      public State state(String key) throws IOException {
        HeadObjectResponse r = head(key);
        String storage = r.storageClassAsString() == null ? "STANDARD" : r.storageClassAsString();
        if (!"GLACIER".equals(storage) && !"DEEP_ARCHIVE".equals(storage)) {
          return new State(storage, Status.AVAILABLE);
        }
        String restore = r.restore();
        if (restore == null) {
          return new State(storage, Status.ARCHIVED);
        }
        return new State(storage, restore.contains("ongoing-request=\"true\"") ? Status.RESTORING : Status.AVAILABLE);
      }

      @Override
      public void requestRestore(String key, Tier tier, int days) throws IOException {
        String objectKey = objectKey(key);
        try {
          client.restoreObject(r -> r.bucket(bucket).key(objectKey).restoreRequest(rr -> rr.days(days)
              .glacierJobParameters(g -> g.tier(software.amazon.awssdk.services.s3.model.Tier.fromValue(
                  tier.name().charAt(0) + tier.name().substring(1).toLowerCase())))));
        } catch (S3Exception e) {
          // 409 RestoreAlreadyInProgress: the request stands; nothing to do.
          if (e.statusCode() != 409) {
            throw map("restore request for " + objectKey, key, e);
          }
        } catch (SdkException e) {
          throw map("restore request for " + objectKey, key, e);
        }
      }
    });
  }

  /** HeadObject; a 404 that is not a missing bucket (HEAD answers carry no error code) is a missing object. */
  private HeadObjectResponse head(String key) throws IOException {
    String objectKey = objectKey(key);
    try {
      return client.headObject(h -> h.bucket(bucket).key(objectKey));
    } catch (NoSuchKeyException e) {
      throw new ObjectNotFoundException(key);
    } catch (S3Exception e) {
      if (e.statusCode() == 404 && !isMissingBucket(e)) {
        throw new ObjectNotFoundException(key);
      }
      throw map("stat " + objectKey, key, e);
    } catch (SdkException e) {
      throw map("stat " + objectKey, key, e);
    }
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    try {
      HeadObjectResponse r = head(key);
      return Optional.of(new ObjectInfo(key, r.contentLength(), r.lastModified(), r.eTag()));
    } catch (ObjectNotFoundException e) {
      return Optional.empty();
    }
  }

  private static boolean isMissingBucket(S3Exception e) {
    return e instanceof NoSuchBucketException
        || e.awsErrorDetails() != null && "NoSuchBucket".equals(e.awsErrorDetails().errorCode());
  }

  /**
   * Collected {@link #listing}, in the server's order: AWS S3 lists by UTF-8 byte (code point), some compatible
   * servers (S3Proxy's filesystem backend) by UTF-16 unit; they differ only for characters beyond U+FFFF.
   */
  @Override
  public List<ObjectInfo> list(String keyPrefix) throws IOException {
    return PagedListing.collect(listing(keyPrefix));
  }

  @Override
  public Iterable<ObjectInfo> listing(String keyPrefix) throws IOException {
    Keys.requireValidPrefix(keyPrefix);
    Iterable<S3Object> pages = client.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(prefix + keyPrefix)).contents();
    return new PagedListing<>(pages::iterator,
        o -> new ObjectInfo(o.key().substring(prefix.length()), o.size(), o.lastModified(), o.eTag()),
        SdkException.class, e -> map("list " + prefix + keyPrefix, keyPrefix, e));
  }

  /** ListObjectsV2 with the delimiter '/': a request per thousand folders, not per thousand objects. */
  @Override
  public List<String> folders(String keyPrefix) throws IOException {
    Keys.requireFolderPrefix(keyPrefix);
    String full = prefix + keyPrefix;
    List<String> names = new java.util.ArrayList<>();
    try {
      for (software.amazon.awssdk.services.s3.model.CommonPrefix p
          : client.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(full).delimiter("/")).commonPrefixes()) {
        names.add(p.prefix().substring(full.length(), p.prefix().length() - 1));
      }
    } catch (SdkException e) {
      throw map("list " + full, keyPrefix, e);
    }
    return names;
  }

  @Override
  public void delete(String key) throws IOException {
    String objectKey = objectKey(key);
    try {
      client.deleteObject(d -> d.bucket(bucket).key(objectKey));
    } catch (NoSuchKeyException e) {
      // Already gone.
    } catch (SdkException e) {
      throw map("delete " + objectKey, key, e);
    }
  }

  /** DeleteObjects, up to 1,000 keys a request: pruning a bucket backup of many objects is not one request each. */
  @Override
  public void deleteAll(java.util.Collection<String> keys) throws IOException {
    List<String> all = List.copyOf(keys);
    for (int from = 0; from < all.size(); from += 1000) {
      List<software.amazon.awssdk.services.s3.model.ObjectIdentifier> batch = new ArrayList<>();
      for (String key : all.subList(from, Math.min(all.size(), from + 1000))) {
        batch.add(software.amazon.awssdk.services.s3.model.ObjectIdentifier.builder().key(objectKey(key)).build());
      }
      software.amazon.awssdk.services.s3.model.DeleteObjectsResponse response;
      try {
        response = client.deleteObjects(d -> d.bucket(bucket).delete(del -> del.objects(batch).quiet(true)));
      } catch (SdkException e) {
        throw map("delete " + batch.size() + " objects", batch.get(0).key(), e);
      }
      List<String> failed = response.errors().stream().filter(e -> !"NoSuchKey".equals(e.code()))
          .map(e -> e.key() + " (" + e.code() + ": " + e.message() + ")").toList();
      if (!failed.isEmpty()) {
        throw new StoreException("S3 did not delete " + failed.size() + " of " + batch.size() + " objects in "
            + describe() + ", e.g. " + failed.get(0));
      }
    }
  }

  /** Translates SDK errors into Savepoint's store errors. */
  private IOException map(String what, String key, SdkException e) {
    if (e instanceof NoSuchKeyException) {
      return new ObjectNotFoundException(key);
    }
    if (e instanceof S3Exception s3) {
      String code = s3.awsErrorDetails() == null ? "" : String.valueOf(s3.awsErrorDetails().errorCode());
      int status = s3.statusCode();
      if (isMissingBucket(s3)) {
        return new StoreException("bucket '" + bucket + "' does not exist (" + what
            + "): create it or fix the repository URI", e);
      }
      if ("InvalidObjectState".equals(code)) {
        return new ObjectArchivedException(what + ": object " + key + " is in an archive storage class and not "
            + "restored; request a restore first (CLI: restore --archive-tier STANDARD --wait PT12H)");
      }
      if (status == 403) {
        return new StoreException(what + ": access denied to bucket '" + bucket + "' (" + code
            + "); check the credentials and the bucket policy", e);
      }
      if (status >= 500 || status == 429 || "SlowDown".equals(code) || "RequestTimeout".equals(code)) {
        return new TransientStoreException(what + " failed with " + status + " " + code, e);
      }
      return new StoreException(what + " failed with " + status + " " + code + ": " + s3.getMessage(), e);
    }
    if (e instanceof SdkClientException) {
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof java.net.UnknownHostException) {
          return new StoreException(what + " failed: unknown host " + c.getMessage()
              + "; check the endpoint and region", e);
        }
      }
      return new TransientStoreException(what + " failed: " + e.getMessage(), e);
    }
    return new StoreException(what + " failed: " + e.getMessage(), e);
  }

  @Override
  public String describe() {
    return "s3://" + bucket + "/" + prefix;
  }

  /** The bucket this store keeps its objects in. */
  public String bucket() {
    return bucket;
  }

  /** What every key of this store is prefixed with in its bucket ("" or ending in "/"). */
  public String prefix() {
    return prefix;
  }

  /** The SDK client this store sends its requests with. */
  public S3Client client() {
    return client;
  }

  @Override
  public String toString() {
    return describe();
  }

  /** Options of an {@link S3Store}. */
  public static final class Builder {
    private final S3Client client;
    private final String bucket;
    private String prefix = "";
    private long partSize = 8L * 1024 * 1024;
    private int partsInFlight = 4;
    private @Nullable StorageClass storageClass;
    private @Nullable ServerSideEncryption sse;
    private @Nullable String kmsKeyId;
    private final Map<String, String> tags = new LinkedHashMap<>();
    private @Nullable Duration objectLockRetention;

    private Builder(S3Client client, String bucket) {
      this.client = Objects.requireNonNull(client);
      this.bucket = Objects.requireNonNull(bucket);
    }

    /** Key prefix inside the bucket, e.g. {@code backups/prod}. */
    public Builder prefix(String prefix) {
      String p = prefix.replaceAll("^/+", "");
      this.prefix = p.isEmpty() || p.endsWith("/") ? p : p + "/";
      return this;
    }

    /** Initial part size (at least 5 MiB); also the largest object sent in one PUT. */
    public Builder partSize(long bytes) {
      if (bytes < MIN_PART || bytes > MAX_PART) {
        throw new IllegalArgumentException("part size must be between 5 MiB and 5 GiB, got " + bytes);
      }
      this.partSize = bytes;
      return this;
    }

    public Builder partsInFlight(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("partsInFlight must be at least 1");
      }
      this.partsInFlight = n;
      return this;
    }

    /** STANDARD, STANDARD_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE, ... */
    public Builder storageClass(StorageClass storageClass) {
      this.storageClass = storageClass;
      return this;
    }

    /** SSE-S3 ({@code AES256}) or SSE-KMS ({@code aws:kms}, optionally with a key id or ARN). */
    public Builder serverSideEncryption(ServerSideEncryption sse, @Nullable String kmsKeyId) {
      this.sse = sse;
      this.kmsKeyId = kmsKeyId;
      return this;
    }

    public Builder tag(String key, String value) {
      tags.put(key, value);
      return this;
    }

    /** Object Lock in compliance mode (WORM) for this long after each write; the bucket must allow it. */
    public Builder objectLockRetention(Duration retention) {
      this.objectLockRetention = retention;
      return this;
    }

    public S3Store build() {
      return new S3Store(this);
    }
  }
}
