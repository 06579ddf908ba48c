package dev.savepoint.core;

import dev.savepoint.core.internal.BackupIds;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Backups of the past for report tests: a manifest written through the repository (as a backup writes it: signed
 * where it signs, with its completion marker) for a backup that started at {@code started} and stored
 * {@code storedBytes} in one artifact. Nothing but the manifest's record of the artifact is real: for pages, not
 * restores. In package {@code dev.savepoint.core} to reach {@link Repository#writeManifest}.
 */
public final class FakeBackups {
  private FakeBackups() {}

  public static Manifest write(Repository repository, String plan, String sourceType, Instant started, Duration took,
      long storedBytes) throws IOException {
    String id = BackupIds.newId(started);
    ArtifactRecord artifact = new ArtifactRecord("data", plan + "/" + id + "/data", storedBytes * 3, storedBytes, "x",
        "x", List.of());
    repository.store().put(artifact.key(), ByteSource.wrap(new byte[] {1}));
    Manifest m = new Manifest(Manifest.FORMAT_VERSION, id, plan, "tier1", Map.of(), started, started.plus(took),
        new Manifest.SourceInfo(sourceType, Map.of()), List.of(artifact), List.of());
    repository.writeManifest(m);
    return m;
  }
}
