package dev.savepoint.core;

import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.Probe;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Backs up every object of a {@link Store} — typically the application's uploads, an {@code S3Store} or
 * {@code GcsStore} opened on {@code s3://app/uploads/} or {@code gs://app/uploads/} — as one backup: one
 * artifact per object, named {@value #ARTIFACT_PREFIX}{@code <key>}, {@code parallelism} objects in flight.
 * The manifest lists every object with its size, modification time and ETag; the artifact records add the
 * SHA-256 of each.
 *
 * <p>Incremental by default: an object whose size and ETag (or, where the store has no ETags, modification
 * time) equal those recorded by the previous backup of the plan is not read again; the new backup records the
 * earlier stored copy ({@link ArtifactWriter#reuse}). Every backup is still complete on its own: restore and
 * verification need no other backup, and deleting an earlier backup keeps the objects later ones record.
 * Restore with {@link BucketTarget} (to a bucket prefix) or {@link FilesTarget} (to a local directory, as
 * {@code aws s3 sync} would).
 *
 * <p>Every key the bucket holds is backed up, whatever its shape: a key that is not a safe repository path
 * ({@code .}/{@code ..}/empty segments, leading or trailing slashes, backslashes, control characters, very long
 * names) is stored under {@value #ARTIFACT_PREFIX}{@code %/<sha-256 of the key>} and the manifest's object
 * list keeps the original key exactly ({@code artifact} names where it went). An object that cannot be read
 * (deleted since the listing, access denied) fails the backup naming the key, unless {@link #skipUnreadable()}
 * records it as skipped.
 */
public final class BucketSource implements Source {
  public static final String ARTIFACT_PREFIX = "objects/";
  public static final String TYPE = "bucket";

  private final Store objects;
  private final int parallelism;
  private final boolean incremental;
  private final boolean skipUnreadable;

  private BucketSource(Store objects, int parallelism, boolean incremental, boolean skipUnreadable) {
    this.objects = Objects.requireNonNull(objects, "objects");
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be at least 1, was " + parallelism);
    }
    this.parallelism = parallelism;
    this.incremental = incremental;
    this.skipUnreadable = skipUnreadable;
  }

  /**
   * The artifact name of the object {@code key}: {@value #ARTIFACT_PREFIX}{@code <key>} where that is a safe
   * repository path of modest length, else {@value #ARTIFACT_PREFIX}{@code %/<sha-256 of the key>}.
   */
  public static String artifactName(String key) {
    boolean safe = !key.startsWith("%/") && key.length() <= 512 && key.chars().noneMatch(c -> c < 0x20 || c == 0x7f);
    if (safe) {
      try {
        Keys.requireValid(key);
        for (String segment : key.split("/")) {
          safe &= segment.getBytes(StandardCharsets.UTF_8).length <= 200;
        }
      } catch (IllegalArgumentException e) {
        safe = false;
      }
    }
    return ARTIFACT_PREFIX + (safe ? key : "%/" + sha256(key));
  }

  static String sha256(String key) {
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    return Probe.sha256Of(bytes, 0, bytes.length);
  }

  /** The original object key of each artifact of a bucket backup, by artifact name. */
  public static Map<String, String> originalKeys(Manifest manifest) {
    Map<String, String> keys = new HashMap<>();
    if (manifest.source().facts().get("objects") instanceof List<?> recorded) {
      for (Object o : recorded) {
        if (o instanceof Map<?, ?> entry && entry.get("key") != null) {
          String key = String.valueOf(entry.get("key"));
          keys.put(entry.get("artifact") != null ? String.valueOf(entry.get("artifact")) : ARTIFACT_PREFIX + key, key);
        }
      }
    }
    for (ArtifactRecord a : manifest.artifacts()) { // Backups made before the object list named artifacts.
      keys.putIfAbsent(a.name(), a.name().substring(Math.min(a.name().length(), ARTIFACT_PREFIX.length())));
    }
    return keys;
  }

  /** Incremental backups of every object of {@code objects}, four at a time. */
  public static BucketSource of(Store objects) {
    return new BucketSource(objects, 4, true, false);
  }

  /** The same source reading {@code n} objects at once. */
  public BucketSource parallelism(int n) {
    return new BucketSource(objects, n, incremental, skipUnreadable);
  }

  /** The same source copying every object, whatever earlier backups hold. */
  public BucketSource fullCopies() {
    return new BucketSource(objects, parallelism, false, skipUnreadable);
  }

  /**
   * The same source recording objects it cannot read (deleted since the listing, access denied) as skipped, with
   * the reason (fact {@code skippedObjects}), instead of failing the backup. Off by default: one unreadable object
   * is then a loud failure that names it.
   */
  public BucketSource skipUnreadable() {
    return new BucketSource(objects, parallelism, incremental, true);
  }

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    List<ObjectInfo> listing = new ArrayList<>();
    for (ObjectInfo o : objects.list("")) {
      if (!(o.key().endsWith("/") && o.size() == 0)) { // empty "folder" placeholders of consoles hold no data
        listing.add(o);
      }
    }
    Map<String, String> skipped = new java.util.concurrent.ConcurrentSkipListMap<>();
    Map<String, ArtifactRecord> reusable = incremental ? reusable(writer) : Map.of();
    List<Future<Boolean>> copies = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
      Thread t = new Thread(r, "savepoint-bucket-source");
      t.setDaemon(true);
      return t;
    });
    int reused = 0;
    try {
      for (ObjectInfo o : listing) {
        String artifact = artifactName(o.key());
        String fingerprint = fingerprint(o);
        ArtifactRecord earlier = fingerprint == null ? null : reusable.get(fingerprint);
        if (earlier != null && writer.reuse(earlier)) {
          reused++;
          continue;
        }
        copies.add(pool.submit(() -> {
          InputStream in;
          try {
            in = objects.get(o.key());
          } catch (IOException e) {
            if (!skipUnreadable || e instanceof InterruptedIOException) {
              throw new SourceException("object '" + o.key() + "' of " + objects.describe() + " cannot be read ("
                  + e.getMessage() + "); the backup stops rather than leave it out (skipUnreadable records it instead)", e);
            }
            skipped.put(o.key(), String.valueOf(e.getMessage()));
            return false;
          }
          try (in) {
            OutputStream out = writer.open(artifact);
            in.transferTo(out);
            out.close();
          }
          return true;
        }));
      }
      for (Future<Boolean> f : copies) {
        f.get();
      }
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io
          : new SourceException("copying from " + objects.describe() + " failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while copying from " + objects.describe());
    } finally {
      pool.shutdownNow();
    }
    List<Map<String, Object>> entries = new ArrayList<>();
    long bytes = 0;
    for (ObjectInfo o : listing) {
      if (skipped.containsKey(o.key())) {
        continue;
      }
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("key", o.key());
      if (!artifactName(o.key()).equals(ARTIFACT_PREFIX + o.key())) {
        entry.put("artifact", artifactName(o.key()));
      }
      entry.put("size", o.size());
      entry.put("lastModified", o.lastModified().toString());
      if (o.etag() != null) {
        entry.put("etag", o.etag());
      }
      entries.add(entry);
      bytes += o.size();
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("bucket", objects.describe());
    facts.put("objectCount", listing.size() - skipped.size());
    facts.put("objectBytes", bytes);
    facts.put("copiedObjects", listing.size() - reused - skipped.size());
    if (!skipped.isEmpty()) {
      facts.put("skippedObjects", skipped);
    }
    facts.put("reusedObjects", reused);
    facts.put("objects", entries);
    return facts;
  }

  /**
   * Artifacts of the previous backup of the same bucket, by the fingerprint of the object they hold. Another
   * bucket's backups under the same plan share nothing.
   */
  private Map<String, ArtifactRecord> reusable(ArtifactWriter writer) throws IOException {
    Manifest previous = writer.previous().orElse(null);
    if (previous == null || !previous.source().type().equals(TYPE)
        || !objects.describe().equals(previous.source().facts().get("bucket"))
        || !(previous.source().facts().get("objects") instanceof List<?> recorded)) {
      return Map.of();
    }
    Map<String, ArtifactRecord> byName = new HashMap<>();
    Map<String, String> keys = originalKeys(previous);
    previous.artifacts().forEach(a -> byName.put(ARTIFACT_PREFIX + keys.get(a.name()), a));
    Map<String, ArtifactRecord> result = new HashMap<>();
    for (Object o : recorded) {
      if (o instanceof Map<?, ?> entry && entry.get("key") != null && entry.get("size") instanceof Number size) {
        ArtifactRecord a = byName.get(ARTIFACT_PREFIX + entry.get("key"));
        if (a != null) {
          String fingerprint = fingerprint(String.valueOf(entry.get("key")), size.longValue(),
              text(entry.get("lastModified")), text(entry.get("etag")));
          if (fingerprint != null) {
            result.put(fingerprint, a);
          }
        }
      }
    }
    return result;
  }

  private static String text(Object value) {
    return value == null ? null : value.toString();
  }

  private static String fingerprint(ObjectInfo o) {
    return fingerprint(o.key(), o.size(), o.lastModified().toString(), o.etag());
  }

  /**
   * What must not have changed for an object to be the one an earlier backup holds; null when the store
   * tells neither an ETag nor a modification time, so nothing can be known unchanged.
   */
  private static String fingerprint(String key, long size, String lastModified, String etag) {
    if (etag == null && (lastModified == null || lastModified.equals(java.time.Instant.EPOCH.toString()))) {
      return null;
    }
    return key + "\u0000" + size + "\u0000" + (etag != null ? "etag " + etag : "modified " + lastModified);
  }
}
