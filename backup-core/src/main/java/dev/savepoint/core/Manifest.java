package dev.savepoint.core;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The record of one complete backup, stored as {@code <plan>/<id>/manifest.json} after every artifact. A
 * backup without a manifest does not exist. Everything needed to restore is here except secrets.
 *
 * @param formatVersion the manifest format; readers refuse versions newer than {@link #FORMAT_VERSION}
 * @param source the source's type and the facts it reported (server version, snapshot, row counts, ...)
 * @param references the ids of the other directories of the plan (earlier backups', provided copies') that hold
 *     artifacts this backup records, sorted: what lets {@link Repository#prune} decide from manifests alone which
 *     directories are still read; null in manifests written before Savepoint recorded it (unknown: any)
 */
public record Manifest(
    int formatVersion,
    String id,
    String plan,
    @Nullable String tier,
    Map<String, String> labels,
    Instant startedAt,
    Instant finishedAt,
    SourceInfo source,
    List<ArtifactRecord> artifacts,
    @Nullable List<String> references) {

  /**
   * The newest format this Savepoint reads and writes: 2 for bucket backups whose objects are in an
   * {@link ObjectIndex} (which an older reader would take for a backup of no objects), 1 for everything else.
   */
  public static final int FORMAT_VERSION = 2;

  /** What produced the backup: a type name (e.g. {@code directory}, {@code postgresql}) and its facts. */
  public record SourceInfo(String type, Map<String, Object> facts) {
    public SourceInfo {
      Objects.requireNonNull(type, "type");
      facts = facts == null ? Map.of() : facts;
    }
  }

  public Manifest {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(plan, "plan");
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    artifacts = List.copyOf(artifacts);
    references = references == null ? null : List.copyOf(new java.util.TreeSet<>(references));
  }

  /** A manifest that does not say which other directories it reads from (as those written before it could). */
  public Manifest(int formatVersion, String id, String plan, @Nullable String tier, Map<String, String> labels,
      Instant startedAt, Instant finishedAt, SourceInfo source, List<ArtifactRecord> artifacts) {
    this(formatVersion, id, plan, tier, labels, startedAt, finishedAt, source, artifacts, null);
  }

  /** This manifest with {@code artifacts} instead of its own (what it references unchanged). */
  public Manifest withArtifacts(List<ArtifactRecord> artifacts) {
    return new Manifest(formatVersion, id, plan, tier, labels, startedAt, finishedAt, source, artifacts, references);
  }

  public Optional<ArtifactRecord> artifact(String name) {
    return artifacts.stream().filter(a -> a.name().equals(name)).findFirst();
  }

  /** Raw bytes of every artifact, those of an {@link ObjectIndex} included. */
  public long rawBytes() {
    return artifacts.stream().mapToLong(ArtifactRecord::rawBytes).sum() + indexed("rawBytes");
  }

  /** Stored bytes of every artifact the backup records, those of an {@link ObjectIndex} included. */
  public long storedBytes() {
    return artifacts.stream().mapToLong(ArtifactRecord::storedBytes).sum() + indexed("storedBytes");
  }

  /** How many artifacts the backup records: the manifest's own, plus the objects of its {@link ObjectIndex}. */
  public long artifactCount() {
    return artifacts.size() + (ObjectIndex.isIndexed(this) && source.facts().get("objectCount") instanceof Number n
        ? n.longValue() : 0);
  }

  private long indexed(String fact) {
    return source != null && source.facts() != null && source.facts().get(ObjectIndex.FACT) instanceof Map<?, ?> index
        && index.get(fact) instanceof Number n ? n.longValue() : 0;
  }

  public Duration duration() {
    return Duration.between(startedAt, finishedAt);
  }
}
