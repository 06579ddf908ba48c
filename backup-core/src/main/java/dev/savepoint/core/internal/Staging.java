package dev.savepoint.core.internal;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The siblings a restore to a local path works in: {@code .<name>.savepoint-restore-<pid>-<uuid>} (the new data,
 * moved into place once complete) and {@code .<name>.savepoint-old-<pid>-<uuid>} (the replaced data, between the
 * two renames of a swap). Named with the restoring process's id, so the next restore to the same path knows what a
 * killed one left: its staging is deleted, and if it died between the two renames — the destination gone, its old
 * data beside it — the old data is put back first. A destination is thus as it was before, or as restored.
 */
public final class Staging {
  private static final String RESTORE = ".savepoint-restore-";
  private static final String OLD = ".savepoint-old-";

  private Staging() {}

  /** Where this process stages a restore to {@code destination}, after {@link #recover} of earlier ones. */
  public static Path restoring(Path destination) throws IOException {
    recover(destination);
    return sibling(destination, RESTORE);
  }

  /** Where this process moves the data it replaces at {@code destination}. */
  public static Path replaced(Path destination) {
    return sibling(destination, OLD);
  }

  /**
   * Where the data a restore replaced at {@code destination} is kept for the operator ({@code <name>.replaced-<time>}),
   * never deleted by Savepoint.
   */
  public static Path kept(Path destination) {
    return destination.resolveSibling(destination.getFileName() + ".replaced-"
        + java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(java.time.ZoneOffset.UTC)
            .format(java.time.Instant.now()) + "-" + Long.toHexString(System.nanoTime() & 0xffff));
  }

  private static Path sibling(Path destination, String kind) {
    return destination.resolveSibling("." + destination.getFileName() + kind + ProcessHandle.current().pid() + "-"
        + UUID.randomUUID());
  }

  /** Puts back what a killed restore moved away, and deletes what killed restores staged. */
  public static void recover(Path destination) throws IOException {
    Path parent = destination.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      return;
    }
    String name = "." + destination.getFileName();
    List<Path> abandoned;
    try (Stream<Path> siblings = Files.list(parent)) {
      abandoned = siblings.filter(p -> abandoned(p.getFileName().toString(), name)).sorted().toList();
    }
    for (Path p : abandoned) {
      if (p.getFileName().toString().startsWith(name + OLD) && !Files.exists(destination, LinkOption.NOFOLLOW_LINKS)) {
        Files.move(p, destination, StandardCopyOption.ATOMIC_MOVE); // killed between the two renames: roll back
      } else {
        deleteTree(p);
      }
    }
  }

  /** A staging or old sibling of {@code .<name>} whose process is no longer alive. */
  private static boolean abandoned(String file, String name) {
    for (String kind : new String[] {RESTORE, OLD}) {
      if (file.startsWith(name + kind)) {
        String rest = file.substring(name.length() + kind.length());
        int dash = rest.indexOf('-');
        if (dash <= 0 || !rest.substring(0, dash).matches("\\d{1,10}")) {
          return false;
        }
        long pid = Long.parseLong(rest.substring(0, dash));
        return ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
      }
    }
    return false;
  }

  /** Deletes a file or a tree, never following symbolic links. */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
        if (exc instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE;
        }
        throw exc;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
