package dev.savepoint.core.internal;

import dev.savepoint.core.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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

  /**
   * PAX keywords holding a name, or a link target, that is not valid UTF-8: its exact bytes, percent-encoded
   * ({@link RawPaths#percentEncode}). The entry's own name is the same text, so {@code tar -x} writes such a
   * file under that readable escaped name while Savepoint restores the original bytes.
   */
  static final String RAW_PATH = "SAVEPOINT.rawpath";
  static final String RAW_LINK_PATH = "SAVEPOINT.rawlinkpath";

  /** What a tar holds; {@code escapedNames} counts entries whose name or link target is not UTF-8. */
  public record Stats(long files, long directories, long symlinks, long bytes, long escapedNames) {}

  /** Writes the tree under {@code root} as tar to {@code out}, which it finishes but does not close. */
  public static Stats write(Path root, OutputStream out) throws IOException {
    TarArchiveOutputStream tar = new TarArchiveOutputStream(out, 64 * 1024, "UTF-8"); // names as UTF-8 whatever the JVM's default charset
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    long[] counts = new long[5];
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        if (!dir.equals(root)) {
          counts[4] += add(dir, attrs, tar, root) ? 1 : 0;
          counts[1]++;
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        if (attrs.isSymbolicLink()) {
          counts[4] += add(file, attrs, tar, root) ? 1 : 0;
          counts[2]++;
        } else if (attrs.isRegularFile()) {
          counts[4] += add(file, attrs, tar, root) ? 1 : 0;
          counts[0]++;
          counts[3] += attrs.size();
        }
        return FileVisitResult.CONTINUE;
      }
    });
    tar.finish();
    tar.flush();
    return new Stats(counts[0], counts[1], counts[2], counts[3], counts[4]);
  }

  /** Adds one entry; true when its name or link target is not UTF-8 and went into the archive escaped. */
  private static boolean add(Path p, BasicFileAttributes attrs, TarArchiveOutputStream tar, Path root)
      throws IOException {
    byte[] raw = RawPaths.bytes(root.relativize(p));
    String name = RawPaths.utf8(raw);
    boolean nameEscaped = name == null;
    if (nameEscaped) {
      name = RawPaths.percentEncode(raw);
    }
    boolean linkEscaped = false;
    TarArchiveEntry entry;
    if (attrs.isSymbolicLink()) {
      entry = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
      byte[] link = RawPaths.bytes(Files.readSymbolicLink(p));
      String linkName = RawPaths.utf8(link);
      if (linkName == null) {
        linkName = RawPaths.percentEncode(link);
        entry.addPaxHeader(RAW_LINK_PATH, linkName);
        linkEscaped = true;
      }
      entry.setLinkName(linkName);
    } else {
      entry = new TarArchiveEntry(attrs.isDirectory() ? name + "/" : name);
      entry.setSize(attrs.isRegularFile() ? attrs.size() : 0);
    }
    if (nameEscaped) {
      entry.addPaxHeader(RAW_PATH, name);
    }
    entry.setModTime(attrs.lastModifiedTime());
    owner(p).ifPresent(ids -> {
      entry.setUserId(ids[0]);
      entry.setGroupId(ids[1]);
    });
    if (!attrs.isSymbolicLink()) {
      entry.setMode((attrs.isDirectory() ? 040000 : 0100000) | mode(p));
    }
    tar.putArchiveEntry(entry);
    if (attrs.isRegularFile()) {
      try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
        long copied = copy(in, tar, attrs.size());
        if (copied != attrs.size()) {
          throw new IOException("file " + name + " changed size while being backed up (expected "
              + attrs.size() + " bytes, read " + copied + ")");
        }
      }
    }
    tar.closeArchiveEntry();
    return nameEscaped || linkEscaped;
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

  /** The numeric owner and group of {@code p} (the link itself, not its target), where the system has them. */
  public static java.util.Optional<long[]> owner(Path p) {
    try {
      return java.util.Optional.of(new long[] {((Number) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS))
          .longValue(), ((Number) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS)).longValue()});
    } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
      return java.util.Optional.empty();
    }
  }

  /** Gives {@code p} (the link itself, not its target) the numeric owner and group {@code ids}. */
  public static void chown(Path p, long uid, long gid) throws IOException {
    Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
  }

  /** Whether this process may give files away (runs as root): only then are recorded owners restored. */
  public static boolean mayChown() {
    try {
      return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /** The permission bits of {@code p} (0755 style), or a default where the system has none. */
  public static int mode(Path p) {
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

  /** The permissions of the bits {@code mode} (0755 style). */
  public static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> perms = java.util.EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission perm : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
        perms.add(perm);
      }
    }
    return perms;
  }

  /**
   * Extracts a tar stream into the empty directory {@code dest}, never writing outside it: any entry whose
   * path escapes {@code dest} is refused (with {@link IntegrityException}); no path is ever resolved through
   * a symbolic link (each parent directory is checked to be a real directory, not followed), symbolic links
   * are created last, and hard links, devices and FIFOs are refused.
   */
  public static void extract(InputStream in, Path dest) throws IOException {
    extract(in, dest, true);
  }

  /**
   * As {@link #extract(InputStream, Path)}; without {@code symlinks}, an archive holding a symbolic link is refused
   * ({@link IntegrityException}) before anything after it is written: for a PostgreSQL data directory, where the
   * server would follow a link (pg_wal, a tablespace) to write outside it.
   */
  public static void extract(InputStream in, Path dest, boolean symlinks) throws IOException {
    extract(in, dest, symlinks, false);
  }

  /**
   * As {@link #extract(InputStream, Path, boolean)}; with {@code owners}, every entry (links too) gets the numeric
   * owner and group the archive recorded, as {@code tar --same-owner} does (call it only as root).
   */
  public static void extract(InputStream in, Path dest, boolean symlinks, boolean owners) throws IOException {
    Path base = dest.toAbsolutePath().normalize();
    TarArchiveInputStream tar = new TarArchiveInputStream(in, "UTF-8");
    List<TarArchiveEntry> links = new ArrayList<>();
    List<TarArchiveEntry> dirs = new ArrayList<>();
    TarArchiveEntry entry;
    while ((entry = tar.getNextEntry()) != null) {
      Path target = inside(base, entry, !entry.isDirectory());
      if (entry.isSymbolicLink() && !symlinks) {
        throw new IntegrityException("tar entry '" + entry.getName() + "' is a symbolic link (to '"
            + entry.getLinkName() + "'), which this archive may not hold; refusing it");
      } else if (entry.isSymbolicLink()) {
        links.add(entry);
      } else if (entry.isDirectory()) {
        realDirectories(base, target);
        dirs.add(entry);
      } else if (entry.isFile() && !entry.isLink()) {
        realDirectories(base, target.getParent());
        // CREATE_NEW: never opens an existing file, or a link planted under this name.
        try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
          tar.transferTo(out);
        }
        applyAttributes(target, entry, owners);
      } else {
        throw new IntegrityException("tar entry '" + entry.getName() + "' is a "
            + (entry.isLink() ? "hard link" : "special file (type " + (char) entry.getLinkFlag() + ")")
            + ", which Savepoint does not restore; refusing this archive");
      }
    }
    // Directory attributes before links exist, so no attribute change can follow one.
    for (int i = dirs.size() - 1; i >= 0; i--) {
      applyAttributes(inside(base, dirs.get(i), false), dirs.get(i), owners);
    }
    for (TarArchiveEntry link : links) {
      Path target = inside(base, link, true);
      realDirectories(base, target.getParent());
      String rawLink = link.getExtraPaxHeader(RAW_LINK_PATH);
      Files.createSymbolicLink(target, rawLink != null
          ? RawPaths.path(RawPaths.percentDecode(rawLink))
          : RawPaths.path(link.getLinkName().getBytes(StandardCharsets.UTF_8)));
      if (owners) {
        chown(target, link.getLongUserId(), link.getLongGroupId());
      }
    }
    // Drain the end-of-archive blocks so the digest check of the underlying stream sees every byte.
    in.transferTo(OutputStream.nullOutputStream());
  }

  /**
   * The entry's path resolved under {@code base} with its exact bytes (see {@link #RAW_PATH}), or an
   * {@link IntegrityException} if it would leave {@code base}.
   */
  private static Path inside(Path base, TarArchiveEntry entry, boolean mustNotBeBase) throws IntegrityException {
    Path target;
    try {
      target = RawPaths.resolve(base, rawName(entry)).normalize();
    } catch (IllegalArgumentException e) {
      target = null; // a NUL byte, or a name no path can hold
    }
    if (target == null || !target.startsWith(base) || mustNotBeBase && target.equals(base)) {
      throw new IntegrityException("tar entry '" + entry.getName() + "' would be written outside " + base
          + "; refusing to restore this archive");
    }
    return target;
  }

  private static byte[] rawName(TarArchiveEntry entry) {
    String raw = entry.getExtraPaxHeader(RAW_PATH);
    return raw != null ? RawPaths.percentDecode(raw) : entry.getName().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Makes every directory from {@code base} down to {@code dir}, refusing any component that exists as
   * something else (a symbolic link above all): nothing is created through a link.
   */
  private static void realDirectories(Path base, Path dir) throws IOException {
    Path current = base;
    for (Path part : base.relativize(dir)) {
      current = current.resolve(part);
      if (Files.isSymbolicLink(current) || Files.exists(current, LinkOption.NOFOLLOW_LINKS)
          && !Files.isDirectory(current, LinkOption.NOFOLLOW_LINKS)) {
        throw new IntegrityException("tar entry path " + base.relativize(dir) + " passes through "
            + base.relativize(current) + ", which is not a directory (a symbolic link?); refusing this archive");
      }
      if (!Files.exists(current, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(current);
      }
    }
  }

  private static void applyAttributes(Path p, TarArchiveEntry entry, boolean owners) throws IOException {
    if (owners) {
      chown(p, entry.getLongUserId(), entry.getLongGroupId()); // before the mode: a chown may clear mode bits
    }
    try {
      Files.setPosixFilePermissions(p, permissions(entry.getMode() & 0777));
    } catch (UnsupportedOperationException e) {
      // Non-POSIX filesystem: keep the defaults.
    }
    Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setTimes(FileTime.from(entry.getModTime().toInstant()), null, null);
  }
}
