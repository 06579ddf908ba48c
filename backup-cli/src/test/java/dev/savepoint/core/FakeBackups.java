package dev.savepoint.core;

import dev.savepoint.core.internal.BackupIds;
import dev.savepoint.core.store.ByteSource;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Backups of the past for report tests: a manifest written through the repository (as a backup writes it: signed
 * where it signs, with its completion marker) for a backup that started at {@code started} and stored
 * {@code storedBytes} in one untransformed artifact. Up to 1 MiB the artifact is stored whole with its digests (it
 * verifies, also {@code --full}); a larger one is only recorded — for pages, not for verification or restores. In
 * package {@code dev.savepoint.core} to reach {@link Repository#writeManifest}.
 */
public final class FakeBackups {
  private FakeBackups() {}

  public static Manifest write(Repository repository, String plan, String sourceType, Instant started, Duration took,
      long storedBytes) throws IOException {
    String id = BackupIds.newId(started);
    byte[] content = new byte[storedBytes <= 1 << 20 ? (int) storedBytes : 1];
    java.util.Arrays.fill(content, (byte) 'x');
    String sha256 = dev.savepoint.core.internal.Probe.sha256Of(content, 0, content.length);
    ArtifactRecord artifact = new ArtifactRecord("data", plan + "/" + id + "/data", storedBytes, storedBytes, sha256,
        sha256, List.of());
    repository.store().put(artifact.key(), ByteSource.wrap(content));
    Manifest m = new Manifest(Manifest.FORMAT_VERSION, id, plan, "tier1", Map.of(), started, started.plus(took),
        new Manifest.SourceInfo(sourceType, Map.of()), List.of(artifact), List.of());
    repository.writeManifest(m);
    return m;
  }
}
