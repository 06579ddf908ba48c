package dev.savepoint.core;

import dev.savepoint.core.internal.BatchedDeletes;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.store.ObjectInfo;
import dev.savepoint.core.store.Store;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Deletes what deleted backups of one plan leave behind, deciding from manifests where it can: a directory no
 * remaining backup {@linkplain Manifest#references references} goes whole, through a streamed listing; only in
 * a directory that remaining backups still read from are object indexes read — the deleted backups' and those
 * remaining backups' — as streams merged in key order, deleting what the former record there and none of the
 * latter does. Memory holds a few entries per index, never the objects.
 *
 * <p>Usable only where every manifest involved records its references and keeps its objects in an index in key
 * order ({@link #possible}); the repository falls back to collecting the shared keys otherwise (backups written
 * before manifests recorded their references).
 */
final class Reclaim {
  private final Repository repository;
  private final Store store;
  private final String plan;
  private final Map<String, Boolean> hasManifest = new HashMap<>(); // by directory: as many as backups
  private final BatchedDeletes deletes;

  Reclaim(Repository repository, String plan) {
    this.repository = repository;
    this.store = repository.store();
    this.plan = plan;
    this.deletes = new BatchedDeletes(store);
  }

  /**
   * Whether {@code manifests} say enough to reclaim without collecting keys: their references, and a bucket
   * backup's objects in an index in key order.
   */
  static boolean possible(Collection<Manifest> manifests) {
    return manifests.stream().allMatch(m -> m.references() != null
        && (ObjectIndex.isIndexed(m) || !BucketSource.TYPE.equals(m.source().type()))
        && !m.source().facts().containsKey("keysListedOutOfOrder"));
  }

  /** Whether {@code manifests} say that none of them reads from the directory {@code id}. */
  static boolean readByNone(Collection<Manifest> manifests, String id) {
    return possible(manifests) && !referenced(manifests).contains(id);
  }

  /** What {@code m} references: said by every manifest reclaiming is {@link #possible} for. */
  private static List<String> references(Manifest m) {
    return Objects.requireNonNull(m.references(), "a manifest without references reached Reclaim");
  }

  /** The directories {@code manifests} reference. */
  static Set<String> referenced(Collection<Manifest> manifests) {
    Set<String> ids = new HashSet<>();
    manifests.forEach(m -> ids.addAll(references(m)));
    return ids;
  }

  /** Deletes what {@code doomed} (whose manifests are already gone) leave that none of {@code remaining} records. */
  void afterDeleting(List<Manifest> doomed, List<Manifest> remaining) throws IOException {
    Set<String> directories = new TreeSet<>(); // theirs, and those they read from that lost their manifest
    for (Manifest d : doomed) {
      hasManifest.put(d.id(), false);
      directories.add(d.id());
      for (String id : references(d)) {
        if (!hasManifest(id)) {
          directories.add(id);
        }
      }
    }
    Set<String> needed = new TreeSet<>(referenced(remaining)); // of those, the ones remaining backups read from
    needed.retainAll(directories);
    if (!needed.isEmpty()) {
      List<Manifest> readers = remaining.stream()
          .filter(m -> references(m).stream().anyMatch(needed::contains)).toList();
      mergeObjects(doomed, readers, needed);
      Set<String> kept = new HashSet<>(); // manifest-level artifacts of remaining backups: a few per backup
      remaining.forEach(m -> m.artifacts().forEach(a -> kept.add(a.key())));
      for (Manifest d : doomed) {
        for (ArtifactRecord a : d.artifacts()) {
          if (needed.contains(Repository.backupIdOf(plan, a.key())) && !kept.contains(a.key())) {
            deletes.add(a.key());
          }
        }
      }
      for (Manifest d : doomed) {
        if (needed.contains(d.id())) { // its signature, attachments, leases: what no index records
          String prefix = directory(d.id());
          String indexed = ObjectIndex.isIndexed(d) ? prefix + BucketSource.ARTIFACT_PREFIX : null; // merged above
          for (ObjectInfo o : store.listing(prefix)) {
            if ((indexed == null || !o.key().startsWith(indexed)) && !kept.contains(o.key())) {
              deletes.add(o.key());
            }
          }
        }
      }
    }
    for (String id : directories) {
      if (!needed.contains(id)) {
        deleteDirectory(id);
      }
    }
    deletes.flush();
  }

  /** Deletes every object in the directory of backup {@code id}, as its listing streams. */
  void deleteDirectory(String id) throws IOException {
    for (ObjectInfo o : store.listing(directory(id))) {
      deletes.add(o.key());
    }
    deletes.flush();
  }

  /**
   * Walks the indexes of {@code doomed} and {@code readers} together, one object key at a time, and deletes the
   * stored objects in {@code needed} directories that a doomed backup records for that key and no reader does.
   * Every reference to a stored object is made under the object's key (a stored object's name derives from it),
   * so comparing the entries of one key at a time is enough.
   */
  private void mergeObjects(List<Manifest> doomed, List<Manifest> readers, Set<String> needed) throws IOException {
    PriorityQueue<Head> heads = new PriorityQueue<>((a, b) -> Keys.compareCodePoints(a.entry().key(), b.entry().key()));
    List<Head> all = new ArrayList<>();
    try {
      for (Manifest m : doomed) {
        all.add(new Head(m, true, needed));
      }
      for (Manifest m : readers) {
        all.add(new Head(m, false, needed));
      }
      for (Head h : all) {
        if (h.advance()) {
          heads.add(h);
        }
      }
      Set<String> candidates = new HashSet<>();
      Set<String> kept = new HashSet<>();
      while (!heads.isEmpty()) {
        String key = heads.peek().entry().key();
        candidates.clear();
        kept.clear();
        while (!heads.isEmpty() && heads.peek().entry().key().equals(key)) {
          Head h = heads.poll();
          (h.doomed ? candidates : kept).add(h.entry().artifact().key());
          if (h.advance()) {
            heads.add(h);
          }
        }
        candidates.removeAll(kept);
        for (String k : candidates) {
          deletes.add(k);
        }
      }
    } finally {
      for (Head h : all) {
        h.reader.close();
      }
    }
  }

  /** One index being merged: its next entry in a needed directory. */
  private final class Head {
    final Manifest manifest;
    final boolean doomed;
    final Set<String> needed;
    final ObjectIndex.Reader reader;
    ObjectIndex.@Nullable Entry entry;
    @Nullable String last;

    Head(Manifest manifest, boolean doomed, Set<String> needed) throws IOException {
      this.manifest = manifest;
      this.doomed = doomed;
      this.needed = needed;
      this.reader = ObjectIndex.open(repository, manifest);
    }

    /** The entry this head is at: set while it is in the queue ({@link #advance} returned true). */
    ObjectIndex.Entry entry() {
      return Objects.requireNonNull(entry, "a head without an entry");
    }

    boolean advance() throws IOException {
      for (ObjectIndex.Entry e; (e = reader.next()) != null; ) {
        if (last != null && Keys.compareCodePoints(last, e.key()) > 0) {
          throw new IntegrityException("the object index of backup " + manifest.id() + " of plan '" + plan
              + "' is not in key order ('" + e.key() + "' after '" + last + "'); nothing more was deleted");
        }
        last = e.key();
        if (needed.contains(Repository.backupIdOf(plan, e.artifact().key()))) {
          entry = e;
          return true;
        }
      }
      entry = null;
      return false;
    }
  }

  private boolean hasManifest(String id) throws IOException {
    Boolean known = hasManifest.get(id);
    if (known == null) {
      known = store.stat(Repository.manifestKey(plan, id)).isPresent();
      hasManifest.put(id, known);
    }
    return known;
  }

  private String directory(String id) {
    return plan + "/" + id + "/";
  }
}
