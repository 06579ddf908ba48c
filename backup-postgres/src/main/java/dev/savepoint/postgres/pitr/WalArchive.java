package dev.savepoint.postgres.pitr;

import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.ChunkDigests;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transform;
import dev.savepoint.core.internal.ChunkProbe;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.internal.ProbeOutputStream;
import dev.savepoint.core.store.ByteSource;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The WAL of one plan in a repository: {@code <plan>/wal/}. Each file (a complete segment, the segment being
 * written as {@code <segment>.partial}, a timeline {@code .history}) is stored through the plan's transforms
 * (compression, encryption) as {@code <name>.<digest>.wal}, then described by {@code <name>.json} — the same
 * record a manifest keeps per artifact (sizes, SHA-256 of raw and stored bytes, chunk digests, transform chain)
 * plus when it was stored. The record is written last: a file without one does not exist. Complete segments and
 * history files are never overwritten with other content (a second push of the same bytes succeeds). The
 * archive belongs to one database system: {@code system.json} records its identifier, and another system's WAL
 * is refused. In a signed repository ({@link Repository#signedWith}) records and {@code system.json} are signed
 * documents ({@link Repository#writeDocument}): a writer without the key cannot substitute WAL. Holds one segment in memory while storing it. Thread-safe.
 */
public final class WalArchive {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WalArchive.class);

  /** A stored WAL file: its name, what the manifest-style record says, and when it became durable. */
  public record Entry(String name, ArtifactRecord artifact, Instant storedAt) {
    /** The segment this file holds (a {@code .partial} one: the segment it begins); refused if it names none. */
    public WalSegment segment(long segmentSize) {
      return java.util.Objects.requireNonNull(WalSegment.parse(name.substring(0, Math.min(24, name.length())),
          segmentSize), () -> "not a WAL segment: " + name);
    }
  }

  /**
   * A streamer's word that at {@code at} it had received nothing beyond {@code durableLsn}, all of it durable:
   * on an idle server no new WAL is stored, and this is what keeps the recoverable window (and the RPO) current.
   */
  public record Heartbeat(String durableLsn, Instant at) {}

  private static final String HEARTBEAT = "streamer.json";

  private final Repository repository;
  private final Store store;
  private final String prefix;
  private final List<Transform> transforms;

  public WalArchive(Repository repository, String plan, List<Transform> transforms) {
    this.repository = Objects.requireNonNull(repository);
    this.store = repository.store();
    this.prefix = plan + "/wal/";
    this.transforms = List.copyOf(transforms);
  }

  public String describe() {
    return repository.describe() + " " + prefix;
  }

  /** The system this archive belongs to, once known to this instance (claimed or checked). */
  private volatile @Nullable String claimed;

  /** Records the system this archive belongs to, or refuses (ConfigurationException) another one's WAL. */
  public void claim(String systemId) throws IOException {
    if (systemId.equals(claimed)) {
      return;
    }
    Optional<String> existing = systemId();
    if (existing.isPresent() && !existing.get().equals(systemId)) {
      throw new ConfigurationException("the WAL archive " + describe() + " belongs to database system "
          + existing.get() + ", not " + systemId + " (another cluster, or a restored copy): use another plan");
    }
    if (existing.isEmpty()) {
      repository.writeDocument(prefix + "system.json", ManifestCodec.JSON.writeValueAsBytes(Map.of("systemId", systemId)));
    }
    claimed = systemId;
  }

  /**
   * The database system identifier in the long page header every WAL segment starts with (XLP_LONG_HEADER set in
   * {@code xlp_info}; {@code xlp_sysid} after the 24-byte short header, in the server's byte order, little-endian on
   * the platforms PostgreSQL runs on here), as {@code pg_control_system()} shows it; empty for anything shorter or
   * without that header.
   */
  static Optional<String> systemIdOf(byte[] data, int length) {
    if (length < 40) {
      return Optional.empty();
    }
    java.nio.ByteBuffer header = java.nio.ByteBuffer.wrap(data, 0, 40).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int magic = header.getShort(0) & 0xffff;
    int info = header.getShort(2) & 0xffff;
    if ((magic & 0xff00) != 0xd100 || (info & 0x0002) == 0) {
      return Optional.empty();
    }
    return Optional.of(Long.toString(header.getLong(24)));
  }

  public Optional<String> systemId() throws IOException {
    try {
      return Optional.of(String.valueOf(ManifestCodec.JSON.readValue(repository.readDocument(prefix + "system.json"),
          Map.class).get("systemId")));
    } catch (ObjectNotFoundException e) {
      return Optional.empty();
    }
  }

  /**
   * Stores {@code name} durably (data, then record). A complete segment or history file already stored with the
   * same content is a no-op; with other content it is refused with {@link IntegrityException}. A
   * {@code .partial} replaces the previous one.
   */
  public synchronized Entry store(String name, byte[] data, int length) throws IOException {
    if (!WalSegment.isFileName(name)) {
      throw new IllegalArgumentException("'" + name + "' is not a WAL file name (24 hex digits, optionally .partial "
          + "or .<8 hex digits>.backup, or 8 hex digits.history)");
    }
    boolean replaceable = name.endsWith(".partial");
    if (!name.contains(".") || replaceable) {
      // A segment names its database system: another cluster's WAL never mixes into this plan's (pgBackRest: error 44).
      Optional<String> system = systemIdOf(data, length);
      if (system.isPresent()) {
        claim(system.get());
      }
    }
    Optional<Entry> existing = entry(name);
    String rawSha256 = Probe.sha256Of(data, 0, length);
    if (existing.isPresent() && !replaceable) {
      if (existing.get().artifact().rawSha256().equals(rawSha256) && existing.get().artifact().rawBytes() == length) {
        return existing.get();
      }
      throw new IntegrityException("WAL file " + name + " is already archived in " + describe() + " with other "
          + "content (SHA-256 " + existing.get().artifact().rawSha256() + ", now " + rawSha256 + "); it is never "
          + "overwritten: check that two servers do not archive into one plan");
    }
    if (!replaceable) {
      claimBody(name, rawSha256, length);
    }
    Probe raw = new Probe();
    ChunkProbe chunks = new ChunkProbe(ChunkDigests.DEFAULT_SIZE);
    Probe stored = new Probe();
    ByteArrayOutputStream encoded = new ByteArrayOutputStream(length / 2 + 1024);
    List<Transform> chain = new ArrayList<>();
    OutputStream out = new ProbeOutputStream(encoded, stored);
    for (int i = transforms.size() - 1; i >= 0; i--) {
      Transform t = transforms.get(i).perBackup();
      chain.add(0, t);
      out = t.wrap(out);
    }
    out = new ProbeOutputStream(out, (b, off, len) -> {
      raw.update(b, off, len);
      chunks.update(b, off, len);
    });
    out.write(data, 0, length);
    out.close();
    String key = prefix + name + "." + rawSha256.substring(0, 16) + ".wal";
    store.put(key, ByteSource.wrap(encoded.toByteArray()));
    ArtifactRecord artifact = new ArtifactRecord(name, key, raw.bytes(), stored.bytes(), raw.sha256(), stored.sha256(),
        chain.stream().map(Transform::spec).toList(), chunks.result());
    Entry entry = new Entry(name, artifact, Instant.now());
    repository.writeDocument(prefix + name + ".json", ManifestCodec.JSON.writeValueAsBytes(entry));
    if (existing.isPresent() && !existing.get().artifact().key().equals(key)) {
      store.delete(existing.get().artifact().key());
    }
    return entry;
  }

  /**
   * One body per WAL file name, decided by the store: the first writer creates {@code <name>.claim} (its SHA-256 and
   * size) with a conditional write; a concurrent or later push of the same name goes on only with the same body, so
   * of two servers racing with different contents one fails loudly instead of both reporting success.
   */
  private void claimBody(String name, String rawSha256, int length) throws IOException {
    byte[] body = (rawSha256 + " " + length).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String key = prefix + name + CLAIM;
    if (store.putIfAbsent(key, body)) {
      return;
    }
    byte[] held;
    try (InputStream in = store.get(key)) {
      held = in.readNBytes(200);
    }
    if (!java.util.Arrays.equals(held, body)) {
      throw new IntegrityException("WAL file " + name + " is already being archived in " + describe() + " with other "
          + "content (" + new String(held, java.nio.charset.StandardCharsets.UTF_8) + ", now " + rawSha256 + " "
          + length + "); it is never overwritten: check that two servers do not archive into one plan");
    }
  }

  private static final String CLAIM = ".claim";

  /** Removes a {@code .partial} once its complete segment is stored. */
  public synchronized void deletePartial(String segment) throws IOException {
    Optional<Entry> partial = entry(segment + ".partial");
    if (partial.isPresent()) {
      repository.deleteDocument(prefix + segment + ".partial.json");
      store.delete(partial.get().artifact().key());
    }
  }

  /**
   * The record of {@code name}, if stored. In a signed repository a record whose signature does not hold (changed,
   * moved from another name, or unsigned) is an {@link IntegrityException}: its WAL is never replayed.
   */
  public Optional<Entry> entry(String name) throws IOException {
    try {
      Entry entry = ManifestCodec.JSON.readValue(repository.readDocument(prefix + name + ".json"), Entry.class);
      if (!entry.name().equals(name) || !entry.artifact().key().startsWith(prefix)) {
        throw new IntegrityException("WAL record " + prefix + name + ".json describes " + entry.artifact().key()
            + ", not " + name + " of this archive");
      }
      return Optional.of(entry);
    } catch (ObjectNotFoundException e) {
      return Optional.empty();
    }
  }

  /** Every stored file, by name (segments, partials, history files), in name order; damaged records left out. */
  public TreeMap<String, Entry> entries() throws IOException {
    return listing().entries();
  }

  /** WAL files whose records fail their checks (see {@link #entry}), with the reason; they count as missing. */
  public Map<String, String> damaged() throws IOException {
    return listing().damaged();
  }

  private record Listing(TreeMap<String, Entry> entries, Map<String, String> damaged) {}

  private Listing listing() throws IOException {
    TreeMap<String, Entry> entries = new TreeMap<>();
    Map<String, String> damaged = new TreeMap<>();
    for (ObjectInfo o : store.list(prefix)) {
      String rest = o.key().substring(prefix.length());
      if (rest.endsWith(".json") && !rest.equals("system.json") && !rest.equals(HEARTBEAT)) {
        String name = rest.substring(0, rest.length() - 5);
        if (!WalSegment.isFileName(name)) {
          // Never a path: a key like "../../x.history" from a repository writer would point out of the data directory.
          LOG.warn("ignoring {} in {}: not a WAL file name", o.key(), describe());
          damaged.put(name, "not a WAL file name: ignored");
          continue;
        }
        try {
          entry(name).ifPresent(e -> entries.put(name, e));
        } catch (IntegrityException e) {
          LOG.warn("WAL file {} counts as missing: {}", name, e.getMessage());
          damaged.put(name, e.getMessage());
        }
      }
    }
    return new Listing(entries, damaged);
  }

  /** Records a {@link Heartbeat}: everything up to {@code durableLsn} is durable now, and nothing more was sent. */
  public void heartbeat(long durableLsn) throws IOException {
    repository.writeDocument(prefix + HEARTBEAT, ManifestCodec.JSON.writeValueAsBytes(
        new Heartbeat(WalSegment.lsn(durableLsn), Instant.now())));
  }

  /** The newest {@link Heartbeat}; empty if none, or if its signature does not hold (with a warning). */
  public Optional<Heartbeat> lastHeartbeat() throws IOException {
    try {
      return Optional.of(ManifestCodec.JSON.readValue(repository.readDocument(prefix + HEARTBEAT), Heartbeat.class));
    } catch (ObjectNotFoundException e) {
      return Optional.empty();
    } catch (IntegrityException e) {
      LOG.warn("ignoring the streamer heartbeat of {}: {}", describe(), e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Deletes (unless {@code dryRun}) the WAL segments no kept base backup needs, on every timeline (see
   * {@link WalRetention}), and returns their names. History files are kept: they are tiny and every later timeline
   * needs them.
   */
  synchronized List<String> deleteUnneeded(WalRetention retention, long segmentSize, boolean dryRun)
      throws IOException {
    List<String> deleted = new ArrayList<>();
    for (Map.Entry<String, Entry> e : entries().entrySet()) {
      String name = e.getKey();
      String segmentName = name.endsWith(".partial") ? name.substring(0, name.length() - 8) : name;
      WalSegment s = WalSegment.parse(segmentName, segmentSize);
      if (s != null && !retention.needs(s)) {
        deleted.add(name);
        if (!dryRun) {
          repository.deleteDocument(prefix + name + ".json"); // the record first: the file stops existing at once
          store.delete(e.getValue().artifact().key());
          store.delete(prefix + name + CLAIM);
        }
      }
    }
    return deleted;
  }

  /** The verified bytes of a stored file. */
  public InputStream open(Entry entry, Secrets secrets) throws IOException {
    return repository.openRaw(entry.artifact(), secrets);
  }
}
