package dev.savepoint.core.internal;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Modes for what holds backup data on a local disk: directories 0700, files 0600 — whatever the umask would
 * allow — where the filesystem has POSIX permissions (elsewhere nothing is set). A file that replaces another
 * keeps the mode of the one it replaces (an application's {@code .env}, a dump someone made group-readable).
 */
public final class OwnerOnly {
  private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");

  private OwnerOnly() {}

  public static FileAttribute<?>[] file() {
    return POSIX ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE)} : new FileAttribute<?>[0];
  }

  /** The mode of {@code replaced} if it exists, else {@link #file()}. */
  public static FileAttribute<?>[] fileReplacing(Path replaced) throws IOException {
    if (POSIX && Files.exists(replaced, LinkOption.NOFOLLOW_LINKS)) {
      return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
          Files.getPosixFilePermissions(replaced, LinkOption.NOFOLLOW_LINKS))};
    }
    return file();
  }

  /** Creates {@code dir} and any missing parents; those it creates are 0700. */
  public static Path createDirectories(Path dir) throws IOException {
    return POSIX ? Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIRECTORY))
        : Files.createDirectories(dir);
  }

  /** Creates the directory {@code dir} (0700). */
  public static Path createDirectory(Path dir) throws IOException {
    return POSIX ? Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIRECTORY))
        : Files.createDirectory(dir);
  }

  /**
   * Sets a created file's mode exactly: {@code FileAttribute}s at creation are narrowed by the umask, which can
   * only remove bits, so this matters only for a replaced file's wider mode.
   */
  public static void apply(Path file, FileAttribute<?>[] mode) throws IOException {
    if (mode.length > 0) {
      @SuppressWarnings("unchecked")
      Set<PosixFilePermission> perms = (Set<PosixFilePermission>) mode[0].value();
      Files.setPosixFilePermissions(file, perms);
    }
  }
}
