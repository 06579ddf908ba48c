package dev.savepoint.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.UUID;

/**
 * Restores a backup whose artifacts are files under a common name prefix (e.g. {@code objects/} of a bucket
 * backup) into a directory, one file per artifact, keeping relative paths. Files are written into a
 * temporary sibling directory and moved into place only after every digest was verified; an existing,
 * non-empty destination is refused.
 */
public final class FilesTarget implements RestoreTarget {
  private final Path destination;
  private final String artifactPrefix;

  public FilesTarget(Path destination, String artifactPrefix) {
    this.destination = destination.toAbsolutePath().normalize();
    this.artifactPrefix = artifactPrefix;
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    if (Files.exists(destination)) {
      try (var entries = Files.list(destination)) {
        if (entries.findAny().isPresent()) {
          throw new RestoreException("restore target " + destination + " is not empty; choose a new directory");
        }
      }
      Files.delete(destination);
    }
    Files.createDirectories(destination.getParent());
    Path staging = destination.resolveSibling("." + destination.getFileName() + ".savepoint-restore-" + UUID.randomUUID());
    Files.createDirectory(staging);
    int files = 0;
    try {
      for (ArtifactRecord a : artifacts.manifest().artifacts()) {
        if (!a.name().startsWith(artifactPrefix)) {
          continue;
        }
        Path file = staging.resolve(a.name().substring(artifactPrefix.length())).normalize();
        if (!file.startsWith(staging)) {
          throw new IntegrityException("artifact '" + a.name() + "' would be written outside " + destination);
        }
        Files.createDirectories(file.getParent());
        try (InputStream in = artifacts.open(a)) {
          Files.copy(in, file);
        }
        files++;
      }
      Files.move(staging, destination, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      if (Files.exists(staging)) {
        DirectoryTarget.deleteTree(staging);
      }
    }
    return Map.of("files", files);
  }

  @Override
  public String describe() {
    return "directory " + destination;
  }
}
