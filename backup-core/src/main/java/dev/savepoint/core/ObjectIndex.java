package dev.savepoint.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.ManifestCodec;
import dev.savepoint.core.internal.Probe;
import dev.savepoint.core.internal.ProbeOutputStream;
import dev.savepoint.core.sources.BucketSource;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The object index of a {@link BucketSource} backup: one entry per object — its key, size, modification time, ETag
 * and the record of the artifact holding its bytes — in key order, in segments of JSON lines stored as
 * {@link ArtifactWriter.Kind#INDEX} artifacts ({@value #SEGMENT_PREFIX}{@code <sha-256 prefix>.jsonl}, compressed,
 * never encrypted, listed in the manifest in key order). The manifest stays small however many objects the bucket
 * holds; a segment whose objects did not change is reused by the next backup by reference, like the objects.
 *
 * <p>Backups made before the index existed list every object in the manifest (fact {@code objects}, one artifact
 * per object); {@link #open} reads both kinds.
 */
public final class ObjectIndex {
  /** Artifact name prefix of index segments. */
  public static final String SEGMENT_PREFIX = "index/";
  /**
   * The manifest fact describing the index: {@code version}, {@code segments}, {@code reusedSegments} and the
   * objects' {@code rawBytes} and {@code storedBytes}.
   */
  public static final String FACT = "objectIndex";

  private static final ObjectWriter LINE = ManifestCodec.JSON.writer().without(SerializationFeature.INDENT_OUTPUT);
  private static final ObjectReader ENTRY = ManifestCodec.JSON.readerFor(Entry.class);

  private ObjectIndex() {}

  /** One object of a bucket backup; {@code etag} null where the store has none. */
  public record Entry(String key, long size, Instant lastModified, @Nullable String etag, ArtifactRecord artifact) {}

  /** Whether {@code manifest} keeps its objects in an index (else in the manifest itself, as before). */
  public static boolean isIndexed(Manifest manifest) {
    return manifest.source().facts().get(FACT) != null;
  }

  /** Writes the JSON lines of a segment holding {@code entries} to {@code out}, one entry at a time. */
  public static void write(List<Entry> entries, OutputStream out) throws IOException {
    for (Entry e : entries) {
      out.write(LINE.writeValueAsBytes(e));
      out.write('\n');
    }
  }

  /** The SHA-256 of the segment holding {@code entries}, computed as it is encoded: the segment is never held whole. */
  public static String digest(List<Entry> entries) {
    Probe probe = new Probe();
    try {
      write(entries, new ProbeOutputStream(OutputStream.nullOutputStream(), probe));
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialize an index entry", e);
    }
    return probe.sha256();
  }

  /** Reads entries one at a time; {@link #next} returns null at the end. Close it when done, or to stop early. */
  public interface Reader extends AutoCloseable {
    @Nullable Entry next() throws IOException;

    @Override
    void close() throws IOException;
  }

  /** Something done with each entry. */
  @FunctionalInterface
  public interface EntryAction {
    void accept(Entry entry) throws IOException;
  }

  /** Something done with each artifact. */
  @FunctionalInterface
  public interface ArtifactAction {
    void accept(ArtifactRecord artifact) throws IOException;
  }

  /**
   * Runs {@code action} for every artifact {@code manifest} records: its own list, then, for a bucket backup with an
   * index, every object's.
   */
  public static void forEachArtifact(Repository repository, Manifest manifest, ArtifactAction action)
      throws IOException {
    for (ArtifactRecord a : manifest.artifacts()) {
      action.accept(a);
    }
    if (isIndexed(manifest)) {
      forEach(repository, manifest, e -> action.accept(e.artifact()));
    }
  }

  /** Runs {@code action} for every object of the backup, in index order, reading one segment at a time. */
  public static void forEach(Repository repository, Manifest manifest, EntryAction action) throws IOException {
    forEach(repository.readerOf(manifest, Secrets.none()), action);
  }

  /** As {@link #forEach(Repository, Manifest, EntryAction)}, reading through a restore's artifact reader. */
  public static void forEach(ArtifactReader artifacts, EntryAction action) throws IOException {
    try (Reader reader = open(artifacts)) {
      for (Entry e; (e = reader.next()) != null; ) {
        action.accept(e);
      }
    }
  }

  /**
   * The objects of a bucket backup: for an indexed backup streamed from its segments, each verified against the
   * manifest's digests as it is read (no keys needed: segments are not encrypted); for an older backup, from the
   * manifest.
   */
  public static Reader open(Repository repository, Manifest manifest) throws IOException {
    return open(repository.readerOf(manifest, Secrets.none()));
  }

  /** As {@link #open(Repository, Manifest)}, reading through a restore's artifact reader. */
  public static Reader open(ArtifactReader artifacts) throws IOException {
    Manifest manifest = artifacts.manifest();
    if (!isIndexed(manifest)) {
      Iterator<Entry> listed = listedEntries(manifest).iterator();
      return new Reader() {
        @Override
        public @Nullable Entry next() {
          return listed.hasNext() ? listed.next() : null;
        }

        @Override
        public void close() {}
      };
    }
    Iterator<ArtifactRecord> segments = manifest.artifacts().stream()
        .filter(a -> a.name().startsWith(SEGMENT_PREFIX)).iterator();
    return new Reader() {
      private @Nullable BufferedReader lines;
      private @Nullable ArtifactRecord segment;
      private int line;

      @Override
      public @Nullable Entry next() throws IOException {
        while (true) {
          String text = lines == null ? null : lines.readLine();
          if (text != null) {
            line++;
            return parse(text);
          }
          close();
          if (!segments.hasNext()) {
            return null;
          }
          segment = segments.next();
          line = 0;
          lines = new BufferedReader(new InputStreamReader(artifacts.open(segment), StandardCharsets.UTF_8), 1 << 16);
        }
      }

      private Entry parse(String text) throws IntegrityException {
        String segmentKey = segment == null ? "?" : segment.key();
        try {
          Entry e = ENTRY.readValue(text);
          if (e.key() == null || e.artifact() == null) {
            throw new IntegrityException("line " + line + " of index segment " + segmentKey + " lacks a key or "
                + "an artifact");
          }
          Keys.requireValid(e.artifact().key());
          return e;
        } catch (JsonProcessingException | IllegalArgumentException e) {
          throw new IntegrityException("line " + line + " of index segment " + segmentKey + " is malformed: "
              + e.getMessage());
        }
      }

      @Override
      public void close() throws IOException {
        if (lines != null) {
          BufferedReader open = lines;
          lines = null;
          open.close();
        }
      }
    };
  }

  /** The entries of a backup made before the index: the manifest's object list and artifacts. */
  private static List<Entry> listedEntries(Manifest manifest) {
    Map<String, ArtifactRecord> byName = new HashMap<>();
    manifest.artifacts().forEach(a -> byName.put(a.name(), a));
    List<Entry> entries = new ArrayList<>();
    if (manifest.source().facts().get("objects") instanceof List<?> recorded) {
      for (Object o : recorded) {
        if (o instanceof Map<?, ?> entry && entry.get("key") != null) {
          String key = String.valueOf(entry.get("key"));
          String name = entry.get("artifact") != null ? String.valueOf(entry.get("artifact"))
              : BucketSource.ARTIFACT_PREFIX + key;
          ArtifactRecord artifact = byName.remove(name);
          if (artifact != null) {
            entries.add(new Entry(key, entry.get("size") instanceof Number n ? n.longValue() : artifact.rawBytes(),
                entry.get("lastModified") == null ? Instant.EPOCH : Instant.parse(String.valueOf(entry.get("lastModified"))),
                entry.get("etag") == null ? null : String.valueOf(entry.get("etag")), artifact));
          }
        }
      }
    }
    for (ArtifactRecord a : manifest.artifacts()) { // Backups made before the object list named artifacts.
      if (byName.containsKey(a.name()) && a.name().startsWith(BucketSource.ARTIFACT_PREFIX)) {
        entries.add(new Entry(a.name().substring(BucketSource.ARTIFACT_PREFIX.length()), a.rawBytes(), Instant.EPOCH,
            null, a));
      }
    }
    return entries;
  }
}
