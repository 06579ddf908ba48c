package dev.savepoint.core.internal;

import dev.savepoint.core.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Streaming tar of a directory tree and safe extraction (commons-compress, POSIX/PAX format). */
public final class Tar {
  private Tar() {}

  public record Stats(long files, long directories, long symlinks, long bytes) {}

  /** Writes the tree under {@code root} as tar to {@code out}, which it finishes but does not close. */
  public static Stats write(Path root, OutputStream out) throws IOException {
    TarArchiveOutputStream tar = new TarArchiveOutputStream(out, 64 * 1024);
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    long[] counts = new long[4];
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        if (!dir.equals(root)) {
          add(dir, attrs, tar, root);
          counts[1]++;
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        if (attrs.isSymbolicLink()) {
          add(file, attrs, tar, root);
          counts[2]++;
        } else if (attrs.isRegularFile()) {
          add(file, attrs, tar, root);
          counts[0]++;
          counts[3] += attrs.size();
        }
        return FileVisitResult.CONTINUE;
      }
    });
    tar.finish();
    tar.flush();
    return new Stats(counts[0], counts[1], counts[2], counts[3]);
  }

  private static void add(Path p, BasicFileAttributes attrs, TarArchiveOutputStream tar, Path root)
      throws IOException {
    String name = root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
    TarArchiveEntry entry;
    if (attrs.isSymbolicLink()) {
      entry = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
      entry.setLinkName(Files.readSymbolicLink(p).toString());
    } else {
      entry = new TarArchiveEntry(p.toFile(), attrs.isDirectory() ? name + "/" : name);
      entry.setSize(attrs.isRegularFile() ? attrs.size() : 0);
    }
    entry.setModTime(attrs.lastModifiedTime());
    if (!attrs.isSymbolicLink()) {
      entry.setMode((attrs.isDirectory() ? 040000 : 0100000) | mode(p));
    }
    tar.putArchiveEntry(entry);
    if (attrs.isRegularFile()) {
      try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
        long copied = copy(in, tar, attrs.size());
        if (copied != attrs.size()) {
          throw new IOException("file " + p + " changed size while being backed up (expected "
              + attrs.size() + " bytes, read " + copied + ")");
        }
      }
    }
    tar.closeArchiveEntry();
  }

  private static long copy(InputStream in, OutputStream out, long max) throws IOException {
    byte[] buf = new byte[64 * 1024];
    long total = 0;
    int n;
    while (total < max && (n = in.read(buf, 0, (int) Math.min(buf.length, max - total))) > 0) {
      out.write(buf, 0, n);
      total += n;
    }
    return total;
  }

  private static int mode(Path p) {
    try {
      int mode = 0;
      for (PosixFilePermission perm : Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)) {
        mode |= 1 << (8 - perm.ordinal());
      }
      return mode;
    } catch (UnsupportedOperationException | IOException e) {
      return Files.isDirectory(p) ? 0755 : 0644;
    }
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> perms = java.util.EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission perm : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
        perms.add(perm);
      }
    }
    return perms;
  }

  /**
   * Extracts a tar stream into the empty directory {@code dest}. Refuses (with {@link IntegrityException})
   * any entry whose path escapes {@code dest}; symbolic links are created last, so no entry is written
   * through one.
   */
  public static void extract(InputStream in, Path dest) throws IOException {
    Path base = dest.toAbsolutePath().normalize();
    TarArchiveInputStream tar = new TarArchiveInputStream(in);
    List<TarArchiveEntry> links = new ArrayList<>();
    List<TarArchiveEntry> dirs = new ArrayList<>();
    TarArchiveEntry entry;
    while ((entry = tar.getNextEntry()) != null) {
      Path target = base.resolve(entry.getName()).normalize();
      if (!target.startsWith(base) || target.equals(base) && !entry.isDirectory()) {
        throw new IntegrityException("tar entry '" + entry.getName() + "' would be written outside "
            + base + "; refusing to restore this archive");
      }
      if (entry.isSymbolicLink()) {
        links.add(entry);
      } else if (entry.isDirectory()) {
        Files.createDirectories(target);
        dirs.add(entry);
      } else if (entry.isFile()) {
        Files.createDirectories(target.getParent());
        try (OutputStream out = Files.newOutputStream(target)) {
          tar.transferTo(out);
        }
        applyAttributes(target, entry);
      } else {
        throw new IntegrityException("tar entry '" + entry.getName() + "' has unsupported type "
            + (char) entry.getLinkFlag());
      }
    }
    for (TarArchiveEntry link : links) {
      Path target = base.resolve(link.getName()).normalize();
      Files.createDirectories(target.getParent());
      Files.createSymbolicLink(target, Path.of(link.getLinkName()));
    }
    // Directory times last: creating their children changed them.
    for (int i = dirs.size() - 1; i >= 0; i--) {
      applyAttributes(base.resolve(dirs.get(i).getName()).normalize(), dirs.get(i));
    }
    // Drain the end-of-archive blocks so the digest check of the underlying stream sees every byte.
    in.transferTo(OutputStream.nullOutputStream());
  }

  private static void applyAttributes(Path p, TarArchiveEntry entry) throws IOException {
    try {
      Files.setPosixFilePermissions(p, permissions(entry.getMode() & 0777));
    } catch (UnsupportedOperationException e) {
      // Non-POSIX filesystem: keep the defaults.
    }
    Files.setLastModifiedTime(p, FileTime.from(entry.getModTime().toInstant()));
  }
}
