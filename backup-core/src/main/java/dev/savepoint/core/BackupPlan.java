package dev.savepoint.core;

import dev.savepoint.core.internal.BackupIds;
import dev.savepoint.core.internal.ChunkProbe;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.Pipe;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.internal.ProbeOutputStream;
import dev.savepoint.core.operations.Event;
import dev.savepoint.core.operations.Notifier;
import dev.savepoint.core.operations.RpoMonitor;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What to back up, how to encode it, and where to store it. {@link #run()} takes one backup:
 *
 * <ol>
 *   <li>the source writes artifacts; for each, three stages run concurrently on their own threads,
 *       connected by bounded pipes: the source, the encoder (raw probe → transforms → stored probe), and
 *       the upload to the store;
 *   <li>the verifiers check the stored artifacts;
 *   <li>only then is the manifest written. A failure anywhere leaves no manifest, so the backup does not
 *       exist; stored artifacts of a failed run are deleted (or, if the process died, left for
 *       {@link Repository#deleteOrphans}).
 * </ol>
 *
 * <p>Memory per artifact in flight is bounded by two pipes (1 MiB each) plus the transforms' buffers.
 * Instances are immutable and thread-safe; concurrent runs produce distinct backups.
 */
// Over 500 lines on purpose: the plan, its builder and the artifact pipeline of a run (ArtifactStream: small artifacts
// held and stored inline, large ones through two stages, aborts) share the run's state and its lock; split apart,
// that state would have to be published between classes.
public final class BackupPlan {
  private static final Logger log = LoggerFactory.getLogger(BackupPlan.class);

  private final String name;
  private final @Nullable String tier;
  private final Map<String, String> labels;
  private final Source source;
  private final List<Transform> transforms;
  private final Repository repository;
  private final List<Verifier> verifiers;
  private final ProgressListener progress;
  private final Notifier notifier;
  private final java.time.@Nullable Duration rpo;
  private final List<Repository> copies;

  private BackupPlan(Builder b) {
    this.name = BackupIds.requireValidPlan(b.name);
    this.tier = b.tier;
    this.labels = Map.copyOf(b.labels);
    this.source = required(b.source, "source", "source(...)");
    this.transforms = List.copyOf(b.transforms);
    // The plan's keys are its repository's requirements: a passphrase plan signs its manifests with a key derived from
    // the passphrase, and reads (incremental bases, copies, drills) refuse what is unsigned or unencrypted.
    Secrets planKeys = Transforms.secretsOf(transforms);
    Repository given = required(b.repository, "repository", "repository(new Repository(store))");
    this.repository = given.withSecrets(planKeys.orElse(given.secrets()));
    this.verifiers = List.copyOf(b.verifiers);
    this.progress = b.progress;
    this.notifier = Notifier.safely(b.notifiers);
    this.rpo = b.rpo;
    this.copies = b.copies.stream().map(c -> c.withSecrets(planKeys.orElse(c.secrets()))).toList();
    if (!repository.authenticated() && UNSIGNED_WARNED.add(name + "@" + repository.describe())) {
      // The CLI and the starter refuse such a plan unless told; code that builds one is told once, here.
      log.warn("plan '{}': nothing authenticates its backups (no passphrase, no Repository.signedWith): anyone who "
          + "can write {} can plant a backup that a restore or drill trusts", name, repository.describe());
    }
  }

  private static final java.util.Set<String> UNSIGNED_WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public static Builder builder(String name) {
    return new Builder(BackupIds.requireValidPlan(Objects.requireNonNull(name, "name")));
  }

  private BackupPlan(BackupPlan base, Notifier notifier) {
    this.name = base.name;
    this.tier = base.tier;
    this.labels = base.labels;
    this.source = base.source;
    this.transforms = base.transforms;
    this.repository = base.repository;
    this.verifiers = base.verifiers;
    this.progress = base.progress;
    this.notifier = notifier;
    this.rpo = base.rpo;
    this.copies = base.copies;
  }

  /**
   * This plan, telling {@code extra} of its events too: how a framework adds its metrics and alerts to a plan the
   * application built.
   */
  public BackupPlan alsoNotifying(Notifier extra) {
    return new BackupPlan(this, Notifier.safely(List.of(notifier, extra)));
  }

  private <T> T required(@Nullable T value, String what, String call) {
    if (value == null) {
      throw new IllegalArgumentException("plan '" + name + "' has no " + what + ": call ." + call
          + " on BackupPlan.builder(\"" + name + "\") before build()");
    }
    return value;
  }

  public String name() {
    return name;
  }

  public Repository repository() {
    return repository;
  }

  /** The recovery point objective: the newest backup should never be older than this (null: none set). */
  public java.time.@Nullable Duration rpo() {
    return rpo;
  }

  public @Nullable String tier() {
    return tier;
  }

  /** The plan's notifiers, combined; failures of individual notifiers are logged, never thrown. */
  public Notifier notifier() {
    return notifier;
  }

  /** The outcome of a successful run: the written manifest and what the verifiers checked. */
  public record BackupResult(Manifest manifest, List<VerificationResult> verifications) {}

  /**
   * Takes one backup. Throws the source's or store's error if either fails, or an {@link IntegrityException} if a
   * verifier fails; in every such case no manifest is written. Then copies it to the plan's archives: a failed copy
   * is a {@link StoreException} that says the backup itself is complete (and is reported as a failure too).
   */
  public BackupResult run() throws IOException {
    BackupResult result;
    Instant started = Instant.now();
    String id = BackupIds.newId(started);
    try {
      result = runOnce(id, started);
    } catch (IOException | RuntimeException e) {
      notifier.notify(new Event(Event.Type.BACKUP_FAILED, name, id, Instant.now(),
          String.valueOf(e.getMessage()), Map.of("error", e.getClass().getSimpleName())));
      throw e;
    }
    Manifest m = result.manifest();
    notifier.notify(new Event(Event.Type.BACKUP_SUCCEEDED, name, m.id(), Instant.now(),
        m.artifactCount() + " artifact(s), " + m.rawBytes() + " bytes raw, " + m.storedBytes()
            + " bytes stored in " + m.duration().toMillis() + " ms",
        Map.of("rawBytes", m.rawBytes(), "storedBytes", m.storedBytes(), "durationMillis", m.duration().toMillis())));
    for (Repository copy : copies) {
      try {
        repository.copyTo(m, copy);
        log.info("backup {} of plan '{}' copied to {}", m.id(), name, copy.describe());
      } catch (IOException | RuntimeException e) {
        String message = "backup " + m.id() + " of plan '" + name + "' is complete in " + repository.describe()
            + ", but copying it to " + copy.describe() + " failed: " + e.getMessage() + "; copy it again "
            + "(Repository.copyTo) once the archive is reachable";
        notifier.notify(new Event(Event.Type.BACKUP_FAILED, name, m.id(), Instant.now(), message,
            Map.of("error", e.getClass().getSimpleName(), "stage", "copy")));
        throw new StoreException(message, e);
      }
    }
    return result;
  }

  private BackupResult runOnce(String id, Instant started) throws IOException {
    ExecutorService pool = Executors.newCachedThreadPool(dev.savepoint.core.internal.DaemonThreads.numbered(
        "savepoint-" + name));
    List<Transform> chain = new ArrayList<>();
    for (Transform t : transforms) {
      chain.add(t.perBackup());
    }
    Artifacts artifacts = new Artifacts(id, pool, List.copyOf(chain));
    try (Repository.Lease running = repository.running(name, id)) {
      log.info("backup {} of plan '{}' started: {} -> {}", id, name, source.type(), repository.describe());
      Map<String, Object> facts;
      try {
        facts = source.backup(artifacts);
        artifacts.requireAllClosed();
      } catch (IOException | RuntimeException | Error e) {
        throw artifacts.abort(e);
      }
      int version = facts.containsKey(ObjectIndex.FACT) ? Manifest.FORMAT_VERSION : 1;
      Manifest manifest = new Manifest(version, id, name, tier, labels, started, Instant.now(),
          new Manifest.SourceInfo(source.type(), facts), artifacts.records(), artifacts.references());
      List<VerificationResult> results;
      try {
        results = repository.verify(manifest, verifiers);
      } catch (IOException | RuntimeException e) {
        artifacts.deleteStored(); // a verifier that throws fails the backup like one that says no: nothing left
        throw e;
      }
      for (VerificationResult r : results) {
        if (!r.passed()) {
          artifacts.deleteStored();
          throw new IntegrityException("backup " + id + " of plan '" + name + "' failed verification ("
              + r.check() + "): " + r.detail());
        }
      }
      repository.writeManifest(manifest);
      log.info("backup {} of plan '{}' complete: {} artifacts, {} raw bytes, {} stored bytes in {}", id, name,
          manifest.artifactCount(), manifest.rawBytes(), manifest.storedBytes(), manifest.duration());
      return new BackupResult(manifest, results);
    } finally {
      pool.shutdownNow();
    }
  }

  /** The {@link ArtifactWriter} of one run: starts the encode and upload stages of each artifact. */
  private final class Artifacts implements ArtifactWriter {
    private final String id;
    private final ExecutorService pool;
    private final List<Transform> chain;
    /** The transforms of {@link Kind#INDEX} artifacts: compressed, never encrypted. */
    private final List<Transform> indexChain = List.of(Transforms.zstd(3, 0));
    private final Map<String, ArtifactStream> streams = new LinkedHashMap<>();
    /**
     * Finished artifacts: only their records stay (a few hundred bytes), not their pipes, probes and transform
     * state, so memory does not grow with the number of artifacts.
     */
    private final Map<String, ArtifactRecord> finished = new java.util.HashMap<>();
    /** Artifact names in the order they were opened or reused: the manifest's order. */
    private final List<String> order = new ArrayList<>();
    private final Map<String, ArtifactRecord> reused = new LinkedHashMap<>();
    /** The directories (backup ids) of the artifacts this backup reuses: the manifest's references. */
    private final Set<String> references = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private @Nullable Optional<Manifest> previous;
    private boolean aborted;

    Artifacts(String id, ExecutorService pool, List<Transform> chain) {
      this.id = id;
      this.pool = pool;
      this.chain = chain;
    }

    @Override
    public synchronized Optional<Manifest> previous() throws IOException {
      if (previous == null) {
        previous = repository.newest(name);
      }
      return previous;
    }

    @Override
    public boolean reuse(ArtifactRecord earlier) throws IOException {
      return reuse(earlier, Kind.LISTED);
    }

    @Override
    public ObjectIndex.Reader index(Manifest earlier) throws IOException {
      return ObjectIndex.open(repository, earlier);
    }

    @Override
    public boolean reuse(ArtifactRecord earlier, Kind kind) throws IOException {
      List<Transform> chain = kind == Kind.INDEX ? indexChain : this.chain;
      if (!earlier.key().startsWith(name + "/")) {
        throw new IllegalArgumentException("artifact '" + earlier.name() + "' is stored outside plan '" + name
            + "' (" + earlier.key() + "); only artifacts of the same plan can be reused");
      }
      // The same stages with the same keys (recipients' fingerprints, KMS key id, cipher, level): after a key
      // rotation or a change of protection, objects are copied again under the new one. Per-backup values
      // (a wrapped data key) do not count.
      if (earlier.transforms().size() != chain.size()) {
        return false;
      }
      for (int i = 0; i < chain.size(); i++) {
        if (!chain.get(i).sameKeysAs(earlier.transforms().get(i))) {
          return false;
        }
      }
      Optional<ObjectInfo> stored = repository.store().stat(earlier.key());
      if (stored.isEmpty() || stored.get().size() != earlier.storedBytes()) {
        return false;
      }
      log.debug("backup {}: artifact '{}' reuses {} ({} stored bytes)", id, earlier.name(), earlier.key(),
          earlier.storedBytes());
      String directory = Repository.backupIdOf(name, earlier.key());
      if (directory != null && !directory.equals(id)) {
        references.add(directory);
      }
      progress.onArtifact(earlier.name());
      if (kind == Kind.INDEXED) {
        return true; // the source records it in its index
      }
      synchronized (streams) {
        requireNewName(earlier.name());
        reused.put(earlier.name(), earlier);
        order.add(earlier.name());
      }
      return true;
    }

    private void requireNewName(String artifactName) {
      synchronized (streams) {
        if (streams.containsKey(artifactName) || finished.containsKey(artifactName) || reused.containsKey(artifactName)) {
          throw new IllegalArgumentException("artifact '" + artifactName + "' was already written");
        }
      }
    }

    @Override
    public OutputStream open(String artifactName) throws IOException {
      return open(artifactName, Kind.LISTED);
    }

    @Override
    public StoredArtifact open(String artifactName, Kind kind) throws IOException {
      Keys.requireValid(artifactName);
      List<Transform> chain = kind == Kind.INDEX ? indexChain : this.chain;
      if (artifactName.equals(Repository.MANIFEST) || artifactName.equals(Repository.SIGNATURE)) {
        throw new IllegalArgumentException("'" + artifactName + "' is reserved");
      }
      StringBuilder key = new StringBuilder(name + "/" + id + "/" + artifactName);
      for (Transform t : chain) {
        key.append(extension(t.spec()));
      }
      ArtifactStream stream = new ArtifactStream(this, artifactName, key.toString(), chain, kind);
      synchronized (streams) {
        // A source's worker thread may still open an artifact while the run is being aborted: refuse it, and
        // publish the stream before it can store bytes, so that abort and cleanup see every such artifact.
        if (aborted) {
          throw new InterruptedIOException("backup " + id + " was aborted; artifact '" + artifactName
              + "' not started");
        }
        if (kind == Kind.INDEXED) {
          if (streams.containsKey(artifactName)) {
            throw new IllegalArgumentException("artifact '" + artifactName + "' is being written already");
          }
        } else {
          requireNewName(artifactName);
          order.add(artifactName);
        }
        log.debug("backup {}: artifact '{}' opened -> {}", id, artifactName, key);
        streams.put(artifactName, stream);
      }
      return stream;
    }

    private List<ArtifactStream> snapshot() {
      synchronized (streams) {
        return new ArrayList<>(streams.values());
      }
    }

    /** Called by a stream once its record exists: the stream itself is dropped. */
    void finish(ArtifactStream stream) {
      synchronized (streams) {
        streams.remove(stream.artifactName);
        if (stream.kind != Kind.INDEXED) { // the source keeps that record, in its index
          finished.put(stream.artifactName, stream.record);
        }
      }
      progress.onArtifact(stream.artifactName);
      ArtifactRecord r = stream.record;
      if (log.isDebugEnabled() && r != null) {
        log.debug("backup {}: artifact '{}' stored as {}: {} raw bytes -> {} stored bytes through {} in {} ms", id,
            r.name(), r.key(), r.rawBytes(), r.storedBytes(), r.transforms().stream().map(TransformSpec::name).toList(),
            (System.nanoTime() - stream.openedNanos) / 1_000_000);
      }
    }

    void requireAllClosed() {
      for (ArtifactStream s : snapshot()) { // indexed artifacts leave once closed: any left here is open
        if (s.record == null) {
          throw new IllegalStateException("source '" + source.type() + "' did not close artifact '"
              + s.artifactName + "'");
        }
      }
    }

    List<ArtifactRecord> records() {
      synchronized (streams) {
        List<ArtifactRecord> records = new ArrayList<>(order.size());
        for (String artifact : order) {
          ArtifactRecord r = finished.containsKey(artifact) ? finished.get(artifact)
              : streams.containsKey(artifact) ? streams.get(artifact).record : reused.get(artifact);
          records.add(r);
        }
        return records;
      }
    }

    List<String> references() {
      return List.copyOf(references);
    }

    /**
     * Stops every stage after a source failure and returns the most useful error: a stage's own failure
     * (the root cause, e.g. the store refused) in preference to the source's echo of it.
     */
    IOException abort(Throwable sourceFailure) {
      synchronized (streams) {
        aborted = true;
      }
      List<Throwable> failures = new ArrayList<>();
      failures.add(sourceFailure);
      for (ArtifactStream s : snapshot()) {
        IOException e = s.abort(sourceFailure);
        if (e != null) {
          failures.add(e);
        }
      }
      deleteStored();
      IOException result = failures.stream().map(BackupPlan::savepointCause).filter(Objects::nonNull)
          .findFirst().orElse(null);
      if (result == null) {
        result = sourceFailure instanceof IOException io ? io
            : new SourceException("source '" + source.type() + "' failed: " + sourceFailure, sourceFailure);
      }
      if (result != sourceFailure) {
        result.addSuppressed(sourceFailure);
      }
      log.warn("backup {} of plan '{}' failed, no manifest written: {}", id, name, result.getMessage());
      return result;
    }

    /** Best-effort removal of stored artifacts of a run that will not get a manifest. */
    void deleteStored() {
      List<String> keys = new ArrayList<>(snapshot().stream().map(s -> s.key).toList());
      synchronized (streams) {
        finished.values().forEach(r -> keys.add(r.key()));
      }
      try { // indexed artifacts are not tracked one by one: what is under the backup's own prefix is its own
        repository.store().list(name + "/" + id + "/").forEach(o -> keys.add(o.key()));
      } catch (IOException | RuntimeException e) {
        log.warn("could not list what failed backup {} stored; remove it later with cleanup: {}", id, e.getMessage());
      }
      for (String key : keys) {
        try {
          repository.store().delete(key);
        } catch (IOException | RuntimeException e) {
          log.warn("could not delete {} of failed backup {}; remove it later with cleanup: {}", key, id,
              e.getMessage());
        }
      }
    }
  }

  /** Recorded file-name extensions, so stored objects open with standard tools. */
  private static String extension(TransformSpec spec) {
    return switch (spec.name()) {
      case "gzip" -> ".gz";
      case "zstd" -> ".zst";
      case "openpgp", "openpgp-envelope" -> ".gpg";
      default -> "";
    };
  }

  /**
   * The source-facing end of one artifact. Its first {@link #INLINE_LIMIT} raw bytes are held; an artifact that
   * closes within them (most objects of a bucket) is encoded and stored by the closing thread, with no stages,
   * pipes or thread hand-offs. Beyond them, both stages start: raw bytes go into a pipe read by the encode stage,
   * whose output a second pipe carries to the upload stage.
   */
  // Its nullable fields follow the stream's states (held inline, stages running, stored, aborted) under this
  // object's lock, which NullAway cannot follow: checked by the pipeline tests instead (BackupPlanTest et al.).
  @SuppressWarnings("NullAway")
  private final class ArtifactStream extends ArtifactWriter.StoredArtifact {
    private static final int INLINE_LIMIT = 64 * 1024;

    private final String artifactName;
    private final ArtifactWriter.Kind kind;
    private final String key;
    private final List<Transform> chain;
    private final Probe rawProbe = new Probe();
    private final ChunkProbe rawChunks = new ChunkProbe(ChunkDigests.DEFAULT_SIZE);
    private final Probe storedProbe = new Probe();
    private final byte[] one = new byte[1];
    private final ExecutorService pool;
    /** Raw bytes held while the artifact is small; null once the stages run (or it was stored). */
    private @Nullable HeldBytes held = new HeldBytes();
    /** Guarded by this: set by {@link #abort} before the stages start. */
    private @Nullable Throwable abortedBy;
    /** Set with this held when the stages start; null while the artifact is handled inline. */
    private @Nullable Pipe raw;
    private @Nullable Pipe stored;
    private @Nullable OutputStream sink;
    private @Nullable Future<?> encode;
    private @Nullable Future<?> upload;
    private volatile @Nullable ArtifactRecord record;
    private boolean closed;
    private final long openedNanos = System.nanoTime();

    private final Artifacts owner;

    ArtifactStream(Artifacts owner, String artifactName, String key, List<Transform> chain, ArtifactWriter.Kind kind) {
      this.owner = owner;
      this.pool = owner.pool;
      this.kind = kind;
      this.artifactName = artifactName;
      this.key = key;
      this.chain = chain;
    }

    /** The transforms as one stream into {@code stored}, probing what goes in and what comes out. */
    private OutputStream encoder(OutputStream stored) throws IOException {
      OutputStream out = new ProbeOutputStream(stored, storedProbe);
      for (int i = chain.size() - 1; i >= 0; i--) {
        out = chain.get(i).wrap(out);
      }
      return new ProbeOutputStream(out, (b, off, len) -> {
        rawProbe.update(b, off, len);
        rawChunks.update(b, off, len);
      });
    }

    /** Called with this held: the encode and upload stages, fed through pipes from here on. */
    private void startStages() {
      raw = new Pipe();
      stored = new Pipe();
      sink = raw.sink();
      // Each stage fails its pipes with its error before it closes what it reads (a catch runs after a
      // try-with-resources closed it, and the writer would see a bare "stopped before the end" without the cause).
      encode = pool.submit(() -> {
        InputStream in = raw.source();
        try {
          OutputStream out = encoder(stored.sink());
          in.transferTo(out);
          out.close();
          return null;
        } catch (Throwable t) {
          stored.abort(t);
          raw.fail(t);
          throw t;
        } finally {
          in.close();
        }
      });
      upload = pool.submit(() -> {
        InputStream in = stored.source();
        try {
          repository.store().put(key, in);
          return null;
        } catch (Throwable t) {
          stored.fail(t);
          raw.fail(t);
          throw t;
        } finally {
          in.close();
        }
      });
    }

    /** Holds {@code b} while the artifact is small; starts the stages (outside the lock) when it stops being. */
    private void hold(byte[] b, int off, int len) throws IOException {
      HeldBytes before;
      synchronized (this) {
        requireNotAborted();
        if (held.size() + len <= INLINE_LIMIT) {
          held.write(b, off, len);
          return;
        }
        startStages();
        before = held;
        held = null;
      }
      sink.write(before.array(), 0, before.size());
      sink.write(b, off, len);
    }

    /** Encodes and stores a small artifact in this thread; an abort waits for it (the store's put is atomic). */
    private synchronized void storeInline() throws IOException {
      requireNotAborted();
      HeldBytes encoded = new HeldBytes();
      try {
        try (OutputStream out = encoder(encoded)) {
          out.write(held.array(), 0, held.size());
        }
        held = null;
        repository.store().put(key, encoded.source());
      } catch (RuntimeException e) {
        throw asIo(e); // as the stages report it
      }
    }

    private void requireNotAborted() throws InterruptedIOException {
      if (abortedBy != null) {
        throw new InterruptedIOException("backup " + owner.id + " was aborted (" + abortedBy + "); artifact '"
            + artifactName + "' not stored");
      }
    }

    @Override
    public @Nullable ArtifactRecord record() {
      return record;
    }

    @Override
    public void write(int b) throws IOException {
      one[0] = (byte) b;
      write(one, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (closed) {
        throw new IOException("artifact '" + artifactName + "' is closed");
      }
      if (held != null) {
        hold(b, off, len);
      } else {
        sink.write(b, off, len);
      }
      progress.onBytes(artifactName, len);
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        if (held != null) {
          storeInline();
        } else {
          closeStages();
        }
      } catch (IOException e) {
        SavepointException typed = savepointCause(e);
        throw typed != null ? typed : e;
      }
      finish();
    }

    /** Ends the raw stream and waits for both stages; throws the first failure (a stage's before the pipe's). */
    private void closeStages() throws IOException {
      try {
        sink.close();
      } catch (IOException e) {
        IOException stage = awaitFailure();
        throw stage != null ? stage : e;
      }
      IOException stage = awaitFailure();
      if (stage != null) {
        throw stage;
      }
    }

    /** A stage's (or the inline encoder's) failure as an IOException naming the artifact unless it is one. */
    private IOException asIo(Throwable failure) {
      return failure instanceof IOException io ? io
          : new IOException("artifact '" + artifactName + "': " + failure, failure);
    }

    private void finish() {
      record = new ArtifactRecord(artifactName, key, rawProbe.bytes(), storedProbe.bytes(), rawProbe.sha256(),
          storedProbe.sha256(), chain.stream().map(Transform::spec).toList(), rawChunks.result());
      owner.finish(this);
    }

    /** Waits for both stages; returns the first failure, or null. */
    private @Nullable IOException awaitFailure() throws IOException {
      IOException first = null;
      for (Future<?> stage : List.of(encode, upload)) {
        try {
          stage.get();
        } catch (ExecutionException e) {
          IOException io = asIo(e.getCause());
          if (first == null) {
            first = io;
          } else if (first != io) {
            first.addSuppressed(io);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while storing artifact '" + artifactName + "'");
        }
      }
      return first;
    }

    /** Stops the stages after a source failure; returns what they failed with, or null. */
    @Nullable IOException abort(Throwable cause) {
      if (record != null) {
        return null;
      }
      synchronized (this) {
        if (raw == null) { // nothing stored yet, or stored whole by storeInline (which this waited for)
          abortedBy = cause;
          return null;
        }
      }
      raw.abort(cause);
      try {
        return awaitFailure();
      } catch (IOException e) {
        return e;
      }
    }
  }

  /** A growing byte buffer read back without a copy. */
  private static final class HeldBytes extends java.io.ByteArrayOutputStream {
    HeldBytes() {
      super(1024);
    }

    byte[] array() {
      return buf;
    }

    InputStream source() {
      return new java.io.ByteArrayInputStream(buf, 0, count);
    }
  }

  /**
   * The first {@link SavepointException} in the cause chain of {@code t}, else among the errors suppressed along it
   * (another stage's failure, attached there): stages echo each other's failures through pipes as plain
   * IOExceptions ("pipe closed"), and the typed error at the bottom is the one worth reporting.
   */
  private static @Nullable SavepointException savepointCause(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SavepointException se) {
        return se;
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      for (Throwable suppressed : c.getSuppressed()) {
        SavepointException typed = savepointCause(suppressed);
        if (typed != null) {
          return typed;
        }
      }
    }
    return null;
  }

  /** Builds a {@link BackupPlan}. Required: source and repository. */
  public static final class Builder {
    private final String name;
    private @Nullable String tier;
    private final Map<String, String> labels = new LinkedHashMap<>();
    private @Nullable Source source;
    private final List<Transform> transforms = new ArrayList<>();
    private @Nullable Repository repository;
    private final List<Verifier> verifiers = new ArrayList<>();
    private ProgressListener progress = ProgressListener.none();
    private final List<Notifier> notifiers = new ArrayList<>();
    private java.time.@Nullable Duration rpo;
    private final List<Repository> copies = new ArrayList<>();

    private Builder(String name) {
      this.name = name;
    }

    public Builder tier(@Nullable String tier) {
      this.tier = tier;
      return this;
    }

    public Builder label(String key, String value) {
      labels.put(key, value);
      return this;
    }

    public Builder source(Source source) {
      this.source = Objects.requireNonNull(source, "source");
      return this;
    }

    /** Adds a transform; raw bytes pass through transforms in the order added (compress, then encrypt). */
    public Builder transform(Transform transform) {
      transforms.add(Objects.requireNonNull(transform, "transform"));
      return this;
    }

    public Builder repository(Repository repository) {
      this.repository = Objects.requireNonNull(repository, "repository");
      return this;
    }

    public Builder repository(Store store) {
      return repository(new Repository(store));
    }

    /** Adds a verifier that must pass before the manifest is written. */
    public Builder verifier(Verifier verifier) {
      verifiers.add(Objects.requireNonNull(verifier));
      return this;
    }

    public Builder progress(ProgressListener progress) {
      this.progress = Objects.requireNonNull(progress);
      return this;
    }

    /** Adds a notifier told of every success and failure; its own failures never fail the backup. */
    public Builder notifier(Notifier notifier) {
      notifiers.add(Objects.requireNonNull(notifier));
      return this;
    }

    /**
     * After each verified backup, copies it to {@code archive} (another store or storage class: the 7-year
     * archive next to the 30-day primary). A failed copy fails the run; the primary backup stays.
     */
    public Builder copyTo(Repository archive) {
      copies.add(Objects.requireNonNull(archive));
      return this;
    }

    /** The recovery point objective, for the scheduler's catch-up and the {@link RpoMonitor}. */
    public Builder rpo(java.time.@Nullable Duration rpo) {
      if (rpo != null && (rpo.isNegative() || rpo.isZero())) {
        throw new IllegalArgumentException("plan '" + name + "': the RPO must be positive, was " + rpo);
      }
      this.rpo = rpo;
      return this;
    }

    public BackupPlan build() {
      boolean protectedYet = false;
      for (Transform t : transforms) {
        String stage = t.spec().name();
        boolean compression = stage.equals(dev.savepoint.core.internal.ZstdTransform.NAME)
            || stage.equals(dev.savepoint.core.internal.GzipTransform.NAME);
        if (compression && protectedYet) {
          throw new IllegalArgumentException("plan '" + name + "' compresses (" + stage + ") after encrypting: "
              + "ciphertext does not compress, so the backup would be stored at full size; add the compression "
              + "transform first, then the encryption");
        }
        protectedYet |= !compression;
      }
      return new BackupPlan(this);
    }
  }
}
