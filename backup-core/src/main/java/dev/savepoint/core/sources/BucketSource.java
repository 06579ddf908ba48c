package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.ObjectIndex;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Source;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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
import org.jspecify.annotations.Nullable;

/**
 * Backs up every object of a {@link Store} — typically the application's uploads, an {@code S3Store} or
 * {@code GcsStore} opened on {@code s3://app/uploads/} or {@code gs://app/uploads/} — as one backup: one
 * artifact per object, named {@value #ARTIFACT_PREFIX}{@code <key>}, {@code parallelism} objects in flight.
 * Each object's key, size, modification time, ETag and artifact record (with its SHA-256) go into the backup's
 * {@link ObjectIndex}, not into the manifest, which therefore stays a few kilobytes however many objects there
 * are; memory holds a bounded number of objects in flight and one index segment.
 *
 * <p>Incremental by default: an object whose size and ETag (or, where the store has no ETags, modification
 * time) equal those recorded by the previous backup of the plan is not read again; the new backup records the
 * earlier stored copy ({@link ArtifactWriter#reuse}), found by merging the new listing with the previous index
 * (both sorted by key), and an index segment whose objects are all unchanged is reused by reference too: a
 * backup of an unchanged bucket stores nothing but its manifest. Every backup is still complete on its own:
 * restore and verification need no other backup, and deleting an earlier backup keeps the objects later ones
 * record.
 * Restore with {@link BucketTarget} (to a bucket prefix) or {@link FilesTarget} (to a local directory, as
 * {@code aws s3 sync} would).
 *
 * <p>Every key the bucket holds is backed up, whatever its shape: a key that is not a safe repository path
 * ({@code .}/{@code ..}/empty segments, leading or trailing slashes, backslashes, control characters, very long
 * names) is stored under {@value #ARTIFACT_PREFIX}{@code %/<sha-256 of the key>} and the index keeps the
 * original key exactly. An object that cannot be read (deleted since the listing, access denied) fails the backup
 * naming the key, unless {@link #skipUnreadable()} records it as skipped.
 */
public final class BucketSource implements Source {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BucketSource.class);
  public static final String ARTIFACT_PREFIX = "objects/";
  public static final String TYPE = "bucket";

  private final Store objects;
  private final int parallelism;
  private final boolean incremental;
  private final boolean skipUnreadable;
  private final int segmentObjects;
  private final @Nullable ProvidedCopies provided;

  private BucketSource(Store objects, int parallelism, boolean incremental, boolean skipUnreadable,
      int segmentObjects, @Nullable ProvidedCopies provided) {
    this.objects = Objects.requireNonNull(objects, "objects");
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be at least 1, was " + parallelism);
    }
    this.parallelism = parallelism;
    this.incremental = incremental;
    this.skipUnreadable = skipUnreadable;
    if (segmentObjects < 1) {
      throw new IllegalArgumentException("segmentObjects must be at least 1, was " + segmentObjects);
    }
    this.segmentObjects = segmentObjects;
    this.provided = provided;
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

  /** Incremental backups of every object of {@code objects}, four at a time. */
  public static BucketSource of(Store objects) {
    return new BucketSource(objects, 4, true, false, 4096, null);
  }

  /** The same source reading {@code n} objects at once. */
  public BucketSource parallelism(int n) {
    return new BucketSource(objects, n, incremental, skipUnreadable, segmentObjects, provided);
  }

  /** The same source copying every object, whatever earlier backups hold. */
  public BucketSource fullCopies() {
    return new BucketSource(objects, parallelism, false, skipUnreadable, segmentObjects, provided);
  }

  /**
   * The same source recording objects it cannot read (deleted since the listing, access denied) as skipped, with
   * the reason (fact {@code skippedObjects}), instead of failing the backup. Off by default: one unreadable object
   * is then a loud failure that names it.
   */
  public BucketSource skipUnreadable() {
    return new BucketSource(objects, parallelism, incremental, true, segmentObjects, provided);
  }

  /**
   * The same source with index segments of about {@code n} objects (default 4096): smaller segments are rewritten
   * less when a few objects change, larger ones make fewer artifacts.
   */
  public BucketSource segmentObjects(int n) {
    return new BucketSource(objects, parallelism, incremental, skipUnreadable, n, provided);
  }

  /**
   * The same source adopting {@code copies} that something else already made in the repository (a provider's
   * bulk copy: {@code S3BatchCopy}): a new or changed object whose copy there certainly holds its bytes as listed
   * now is recorded from that copy instead of being read and stored by this process; any other is copied as usual.
   * Adopted copies are the objects' own bytes, so a plan adopting them has no transforms (the bucket's server-side
   * encryption protects them); a plan with transforms copies everything itself.
   */
  public BucketSource adopting(ProvidedCopies copies) {
    return new BucketSource(objects, parallelism, incremental, skipUnreadable, segmentObjects,
        Objects.requireNonNull(copies, "copies"));
  }

  /** The store whose objects this source backs up. */
  public Store store() {
    return objects;
  }

  /** Copies of a bucket's objects made in the repository by something else: see {@link #adopting}. */
  public interface ProvidedCopies {
    /**
     * The record of the repository's copy of {@code object}, as artifact {@code artifactName}, or empty when there
     * is none that certainly holds the object's bytes as listed now (the object is then copied as usual).
     */
    java.util.Optional<ArtifactRecord> copyOf(ObjectInfo object, String artifactName) throws IOException;
  }

  /** One object of {@link #forEachChange}. */
  public interface Change {
    void accept(ObjectInfo object) throws IOException;
  }

  /**
   * Every object a backup of {@code plan} into {@code repository} would copy now, in key order: new or changed
   * since the plan's newest backup of this bucket (every object without one, or with {@link #fullCopies()}).
   * What a provider's bulk copy is given to copy ahead of the backup ({@link #adopting}). Returns how many.
   */
  public long forEachChange(Repository repository, String plan, Change action) throws IOException {
    Manifest base = base(repository.newest(plan));
    long[] changes = new long[1];
    try (ObjectIndex.Reader earlier = base == null ? null : ObjectIndex.open(repository, base)) {
      merge(earlier, (o, unchanged) -> {
        if (unchanged == null) {
          changes[0]++;
          action.accept(o);
        }
      });
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while listing " + objects.describe());
    } catch (ExecutionException e) {
      throw new IllegalStateException(e); // nothing runs asynchronously here
    }
    return changes[0];
  }

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    Map<String, String> skipped = new java.util.concurrent.ConcurrentSkipListMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(parallelism,
        dev.savepoint.core.internal.DaemonThreads.named("savepoint-bucket-source"));
    // At most this many objects in flight: memory stays flat however many the bucket holds.
    java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(parallelism * 4);
    Manifest base = base(writer.previous());
    Segments segments = new Segments(writer, previousSegments(base));
    java.util.concurrent.atomic.AtomicInteger reused = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger adopted = new java.util.concurrent.atomic.AtomicInteger();
    long outOfOrder;
    try (ObjectIndex.Reader earlier = base == null ? null : writer.index(base)) {
      outOfOrder = merge(earlier, (o, unchanged) -> {
        inFlight.acquire();
        Future<ArtifactRecord> copy;
        try {
          // Reuse checks that the stored copy is still there (a request per object on S3): in the pool too.
          copy = pool.submit(() -> {
            try {
              if (unchanged != null && writer.reuse(unchanged, ArtifactWriter.Kind.INDEXED)) {
                reused.incrementAndGet();
                return unchanged;
              }
              ArtifactRecord providedCopy = adopt(writer, o);
              if (providedCopy != null) {
                adopted.incrementAndGet();
                return providedCopy;
              }
              return copy(writer, o, skipped);
            } finally {
              inFlight.release();
            }
          });
        } catch (RuntimeException e) {
          inFlight.release();
          throw e;
        }
        segments.add(o, copy);
      });
      segments.finish();
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io
          : new SourceException("copying from " + objects.describe() + " failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SourceException("interrupted while copying from " + objects.describe());
    } finally {
      pool.shutdownNow();
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("bucket", objects.describe());
    facts.put("objectCount", segments.objects);
    facts.put("objectBytes", segments.bytes);
    facts.put("copiedObjects", segments.objects - reused.get() - adopted.get());
    if (!skipped.isEmpty()) {
      facts.put("skippedObjects", skipped);
    }
    facts.put("reusedObjects", reused.get());
    if (provided != null) {
      facts.put("adoptedObjects", adopted.get());
    }
    if (outOfOrder > 0) {
      facts.put("keysListedOutOfOrder", outOfOrder);
    }
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("version", 1);
    index.put("segments", segments.written + segments.reused);
    index.put("reusedSegments", segments.reused);
    index.put("rawBytes", segments.rawBytes); // of the objects' artifacts: the manifest's totals add them
    index.put("storedBytes", segments.storedBytes);
    facts.put(ObjectIndex.FACT, index);
    return facts;
  }

  /** A listed object and its record in the previous index if it is unchanged since (null: new or changed). */
  private interface Merged {
    void accept(ObjectInfo object, @Nullable ArtifactRecord unchanged)
        throws IOException, InterruptedException, ExecutionException;
  }

  /**
   * Merges the streamed listing with the previous backup's index, both in key order (code points), handing each
   * listed object to {@code step} with its unchanged earlier record; returns how many keys came out of order.
   */
  private long merge(ObjectIndex.@Nullable Reader earlier, Merged step)
      throws IOException, InterruptedException, ExecutionException {
    ObjectIndex.Entry previous = next(earlier);
    String last = null;
    long outOfOrder = 0;
    for (ObjectInfo o : objects.listing("")) { // streamed: never the whole listing in memory
      if (last != null && Keys.compareCodePoints(last, o.key()) >= 0 && outOfOrder++ == 0) {
        // The merge assumes code point order; out of it, unchanged objects may be copied again (never lost).
        log.warn("the listing of {} is not in key order ('{}' after '{}'): unchanged objects may be copied "
            + "again; an emulator that does not sort? (GcsStore: sortedListing(false))", objects.describe(),
            o.key(), last);
      }
      last = o.key();
      if (o.key().endsWith("/") && o.size() == 0) {
        continue; // empty "folder" placeholders of consoles hold no data
      }
      while (previous != null && Keys.compareCodePoints(previous.key(), o.key()) < 0) {
        previous = next(earlier);
      }
      String fingerprint = fingerprint(o);
      ArtifactRecord unchanged = previous != null && previous.key().equals(o.key()) && fingerprint != null
          && fingerprint.equals(fingerprint(previous.key(), previous.size(), previous.lastModified().toString(),
              previous.etag())) ? previous.artifact() : null;
      step.accept(o, unchanged);
    }
    return outOfOrder;
  }

  /** The provided copy of {@code o} if there is one this backup can record, else null (copy it here). */
  private @Nullable ArtifactRecord adopt(ArtifactWriter writer, ObjectInfo o) throws IOException {
    if (provided == null) {
      return null;
    }
    ArtifactRecord copy = provided.copyOf(o, artifactName(o.key())).orElse(null);
    if (copy == null) {
      return null;
    }
    if (!writer.reuse(copy, ArtifactWriter.Kind.INDEXED)) {
      if (unadoptable.getAndIncrement() == 0) {
        log.warn("the provided copy {} of '{}' cannot be adopted (gone, or the plan's transforms differ from the "
            + "copy's: provided copies are the objects' own bytes, so a plan adopting them has no transforms); "
            + "copying it here", copy.key(), o.key());
      }
      return null;
    }
    return copy;
  }

  /** Provided copies this source could not adopt: warned about once. */
  private final java.util.concurrent.atomic.AtomicInteger unadoptable = new java.util.concurrent.atomic.AtomicInteger();

  /**
   * The next entry of the previous backup's index, or null at its end — or where it cannot be read (a segment
   * deleted or damaged): the objects from there on are copied again, which is slower but loses nothing.
   */
  private ObjectIndex.@Nullable Entry next(ObjectIndex.@Nullable Reader earlier) throws IOException {
    if (earlier == null) {
      return null;
    }
    try {
      return earlier.next();
    } catch (IntegrityException | ObjectNotFoundException e) {
      log.warn("the previous backup's object index of {} cannot be "
          + "read ({}); the objects from there on are copied again", objects.describe(), e.getMessage());
      earlier.close();
      return null;
    }
  }

  /** Copies one object into an indexed artifact; null when it could not be read and is skipped. */
  private @Nullable ArtifactRecord copy(ArtifactWriter writer, ObjectInfo o, Map<String, String> skipped) throws IOException {
    InputStream in;
    try {
      in = objects.get(o.key());
    } catch (IOException e) {
      if (!skipUnreadable || e instanceof InterruptedIOException) {
        throw new SourceException("object '" + o.key() + "' of " + objects.describe() + " cannot be read ("
            + e.getMessage() + "); the backup stops rather than leave it out (skipUnreadable records it instead)", e);
      }
      skipped.put(o.key(), String.valueOf(e.getMessage()));
      return null;
    }
    try (in) {
      ArtifactWriter.StoredArtifact out = writer.open(artifactName(o.key()), ArtifactWriter.Kind.INDEXED);
      in.transferTo(out);
      out.close();
      return out.record();
    }
  }

  /** The index segments of {@code previous} (if any) by the SHA-256 of their content, for reuse by reference. */
  private static Map<String, ArtifactRecord> previousSegments(@Nullable Manifest previous) {
    Map<String, ArtifactRecord> result = new HashMap<>();
    if (previous != null && ObjectIndex.isIndexed(previous)) {
      previous.artifacts().stream().filter(a -> a.name().startsWith(ObjectIndex.SEGMENT_PREFIX))
          .forEach(a -> result.put(a.rawSha256(), a));
    }
    return result;
  }

  /**
   * What an incremental backup merges with: the plan's newest backup if it is of this bucket, else null (another
   * bucket's backups share nothing; {@link #fullCopies()} merges with none).
   */
  private @Nullable Manifest base(java.util.Optional<Manifest> newest) {
    return newest.filter(b -> incremental && b.source().type().equals(TYPE)
        && objects.describe().equals(b.source().facts().get("bucket"))).orElse(null);
  }

  /**
   * Groups the index entries into segments as the objects are copied. A segment ends after an object whose key
   * hashes to a multiple of {@link #segmentObjects} (content-defined: adding or removing an object changes only
   * its own segment, so the others are reused by reference), or at four times that many entries.
   */
  private final class Segments {
    private final ArtifactWriter writer;
    private final Map<String, ArtifactRecord> earlier;
    private final List<ObjectInfo> objectsOfSegment = new ArrayList<>();
    private final List<Future<ArtifactRecord>> copies = new ArrayList<>();
    int written;
    int reused;
    int objects;
    long bytes;
    long rawBytes;
    long storedBytes;

    Segments(ArtifactWriter writer, Map<String, ArtifactRecord> earlier) {
      this.writer = writer;
      this.earlier = earlier;
    }

    void add(ObjectInfo o, Future<ArtifactRecord> copy) throws IOException, ExecutionException, InterruptedException {
      objectsOfSegment.add(o);
      copies.add(copy);
      if (Math.floorMod(sha256(o.key()).hashCode(), segmentObjects) == 0 || objectsOfSegment.size() >= 4 * segmentObjects) {
        flush();
      }
    }

    void finish() throws IOException, ExecutionException, InterruptedException {
      flush();
    }

    private void flush() throws IOException, ExecutionException, InterruptedException {
      if (objectsOfSegment.isEmpty()) {
        return;
      }
      List<ObjectIndex.Entry> entries = new ArrayList<>(objectsOfSegment.size());
      for (int i = 0; i < objectsOfSegment.size(); i++) {
        ArtifactRecord artifact = copies.get(i).get();
        ObjectInfo o = objectsOfSegment.get(i);
        if (artifact != null) { // null: skipped
          entries.add(new ObjectIndex.Entry(o.key(), o.size(), o.lastModified(), o.etag(), artifact));
          objects++;
          bytes += o.size();
          rawBytes += artifact.rawBytes();
          storedBytes += artifact.storedBytes();
        }
      }
      objectsOfSegment.clear();
      copies.clear();
      if (entries.isEmpty()) {
        return;
      }
      String digest = ObjectIndex.digest(entries); // encoded twice at most, never held whole (a few MB)
      ArtifactRecord same = earlier.get(digest);
      if (same != null && writer.reuse(same, ArtifactWriter.Kind.INDEX)) {
        reused++;
        return;
      }
      try (OutputStream out = new java.io.BufferedOutputStream(writer.open(ObjectIndex.SEGMENT_PREFIX
          + digest.substring(0, 32) + ".jsonl", ArtifactWriter.Kind.INDEX), 1 << 16)) {
        ObjectIndex.write(entries, out);
      }
      written++;
    }
  }

  private static @Nullable String text(@Nullable Object value) {
    return value == null ? null : value.toString();
  }

  private static @Nullable String fingerprint(ObjectInfo o) {
    return fingerprint(o.key(), o.size(), o.lastModified().toString(), o.etag());
  }

  /**
   * What must not have changed for an object to be the one an earlier backup holds; null when the store
   * tells neither an ETag nor a modification time, so nothing can be known unchanged.
   */
  private static @Nullable String fingerprint(String key, long size, @Nullable String lastModified, @Nullable String etag) {
    if (etag == null && (lastModified == null || lastModified.equals(java.time.Instant.EPOCH.toString()))) {
      return null;
    }
    return key + "\u0000" + size + "\u0000" + (etag != null ? "etag " + etag : "modified " + lastModified);
  }
}
