package dev.savepoint.core;

import dev.savepoint.core.internal.OwnerOnly;
import dev.savepoint.core.internal.Staging;

import dev.savepoint.core.internal.Tar;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Restores a {@link DirectorySource} backup into a directory. Extraction goes to a temporary sibling
 * directory, and only after every digest has been verified is it moved into place, so a failed restore leaves
 * the destination untouched. A non-empty destination is refused unless {@link #replacingExisting()} is used.
 */
public final class DirectoryTarget implements RestoreTarget {
  private final Path destination;
  private final boolean replace;

  private DirectoryTarget(Path destination, boolean replace) {
    this.destination = destination.toAbsolutePath().normalize();
    this.replace = replace;
  }

  public static DirectoryTarget of(Path destination) {
    return new DirectoryTarget(destination, false);
  }

  /** Replaces a non-empty destination atomically (old contents are deleted after the new ones are in place). */
  public DirectoryTarget replacingExisting() {
    return new DirectoryTarget(destination, true);
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    Path parent = destination.getParent();
    OwnerOnly.createDirectories(parent);
    Path staging = Staging.restoring(destination); // first puts back what a killed restore moved away
    boolean exists = Files.exists(destination);
    if (exists && !isEmptyDirectory(destination) && !replace) {
      throw new RestoreException("restore target " + destination
          + " is not an empty directory; choose an empty or new directory, or replace it explicitly");
    }
    OwnerOnly.createDirectory(staging);
    try {
      try (InputStream in = artifacts.open(DirectorySource.ARTIFACT)) {
        Tar.extract(in, staging);
      }
      if (exists) {
        Path old = Staging.replaced(destination);
        Files.move(destination, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(staging, destination, StandardCopyOption.ATOMIC_MOVE);
        Staging.deleteTree(old);
      } else {
        Files.move(staging, destination, StandardCopyOption.ATOMIC_MOVE);
      }
    } finally {
      Staging.deleteTree(staging);
    }
    return Map.of();
  }

  private static boolean isEmptyDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    }
  }

  @Override
  public String describe() {
    return "directory " + destination;
  }
}
