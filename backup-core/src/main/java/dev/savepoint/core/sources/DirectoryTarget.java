package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.TargetNotEmptyException;
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
import org.slf4j.LoggerFactory;

/**
 * Restores a {@link DirectorySource} backup into a directory. Extraction goes to a temporary sibling
 * directory, and only after every digest has been verified is it moved into place, so a failed restore leaves
 * the destination untouched. A non-empty destination is refused unless {@link #replacingExisting()} is used.
 */
public final class DirectoryTarget implements RestoreTarget {
  private final Path destination;
  private final boolean replace;
  private final boolean owners;

  private DirectoryTarget(Path destination, boolean replace, boolean owners) {
    this.destination = destination.toAbsolutePath().normalize();
    this.replace = replace;
    this.owners = owners;
  }

  /**
   * Restores into {@code destination}: files, folders and the folder itself get their recorded modes, and — when
   * this process runs as root, as GNU tar and restic do — their recorded numeric owner and group.
   */
  public static DirectoryTarget of(Path destination) {
    return new DirectoryTarget(destination, false, true);
  }

  /**
   * Replaces a non-empty destination atomically; its previous contents are kept beside it as
   * {@code <name>.replaced-<time>} (named in the restore's facts as {@code replacedKeptAt}), never deleted: files
   * the backup does not hold would otherwise be lost to the restore. Delete that folder once the restore is confirmed.
   */
  public DirectoryTarget replacingExisting() {
    return new DirectoryTarget(destination, true, owners);
  }

  /** Leaves every restored file owned by this process, whoever owned it at backup ({@code tar --no-same-owner}). */
  public DirectoryTarget ignoringOwners() {
    return new DirectoryTarget(destination, replace, false);
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    Path parent = destination.getParent();
    OwnerOnly.createDirectories(parent);
    Path staging = Staging.restoring(destination); // first puts back what a killed restore moved away
    boolean exists = Files.exists(destination);
    if (exists && !isEmptyDirectory(destination) && !replace) {
      throw new TargetNotEmptyException("restore target " + destination + (Files.isDirectory(destination)
          ? " is not an empty directory" : " is a file, not a directory")
          + "; choose an empty or new directory, or replace it explicitly");
    }
    OwnerOnly.createDirectory(staging);
    try {
      boolean chown = owners && Tar.mayChown();
      try (InputStream in = artifacts.open(DirectorySource.ARTIFACT)) {
        Tar.extract(in, staging, true, chown);
      }
      // The folder itself as it was (the staging folder was made owner-only): a web server can serve it again.
      Map<String, Object> facts = artifacts.manifest().source().facts();
      if (facts.get("rootMode") instanceof String mode && mode.matches("[0-7]{3,4}")) {
        if (chown && facts.get("rootUid") instanceof Number uid && facts.get("rootGid") instanceof Number gid) {
          Tar.chown(staging, uid.longValue(), gid.longValue());
        }
        try {
          Files.setPosixFilePermissions(staging, Tar.permissions(Integer.parseInt(mode, 8)));
        } catch (UnsupportedOperationException notPosix) {
          // keep the default
        }
      }
      if (exists) {
        Path old = Staging.replaced(destination);
        Files.move(destination, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(staging, destination, StandardCopyOption.ATOMIC_MOVE);
        if (isEmptyDirectory(old)) {
          Staging.deleteTree(old);
          return Map.of();
        }
        // What was there stays beside it: files the backup does not hold (uploads since) are not lost to a restore.
        Path kept = Staging.kept(destination);
        Files.move(old, kept, StandardCopyOption.ATOMIC_MOVE);
        LoggerFactory.getLogger(DirectoryTarget.class).info("the previous contents of {} are kept at {}: delete it "
            + "once the restore is confirmed", destination, kept);
        return Map.of("replacedKeptAt", kept.toString());
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
