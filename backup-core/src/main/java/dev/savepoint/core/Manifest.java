package dev.savepoint.core;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The record of one complete backup, stored as {@code <plan>/<id>/manifest.json} after every artifact. A
 * backup without a manifest does not exist. Everything needed to restore is here except secrets.
 *
 * @param formatVersion the manifest format; readers refuse versions newer than {@link #FORMAT_VERSION}
 * @param source the source's type and the facts it reported (server version, snapshot, row counts, ...)
 */
public record Manifest(
    int formatVersion,
    String id,
    String plan,
    String tier,
    Map<String, String> labels,
    Instant startedAt,
    Instant finishedAt,
    SourceInfo source,
    List<ArtifactRecord> artifacts) {

  public static final int FORMAT_VERSION = 1;

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
  }

  public Optional<ArtifactRecord> artifact(String name) {
    return artifacts.stream().filter(a -> a.name().equals(name)).findFirst();
  }

  public long rawBytes() {
    return artifacts.stream().mapToLong(ArtifactRecord::rawBytes).sum();
  }

  public long storedBytes() {
    return artifacts.stream().mapToLong(ArtifactRecord::storedBytes).sum();
  }

  public Duration duration() {
    return Duration.between(startedAt, finishedAt);
  }
}
