package dev.savepoint.core.store;

import dev.savepoint.core.ObjectNotFoundException;
import dev.savepoint.core.StoreException;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.OwnerOnly;
import dev.savepoint.core.internal.RangeInputStream;
import dev.savepoint.core.internal.RawPaths;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A store in a local directory. Writes are atomic and durable: bytes go to a temporary file under
 * {@code <root>/.savepoint-tmp/}, are fsynced, then renamed into place and the directory is fsynced. A
 * killed process leaves at most a temporary file, which {@link #list} never shows and
 * {@link #cleanupIncomplete} removes. What it creates is the owner's only (directories 0700, files 0600).
 */
public final class FilesystemStore implements Store {
  static final String TEMP_DIR = ".savepoint-tmp";

  private final Path root;
  private final Path temp;

  public FilesystemStore(Path root) throws IOException {
    if (Files.exists(root) && !Files.isDirectory(root)) {
      throw new dev.savepoint.core.ConfigurationException("repository root " + root + " is not a directory: give a "
          + "directory (it is created if it does not exist)");
    }
    this.root = root.toAbsolutePath().normalize();
    this.temp = this.root.resolve(TEMP_DIR);
    OwnerOnly.createDirectories(temp);
  }

  public Path root() {
    return root;
  }

  /**
   * The file of {@code key}, whose directories are no symbolic links. No path is ever resolved through a link:
   * someone who can write into the repository's folder must not be able to make Savepoint read or write outside
   * it. The file itself is opened, read and replaced without following a link (a link there is refused or
   * replaced, never followed).
   */
  private Path path(String key) throws StoreException {
    Path file = file(key);
    requireNoLinks(parentOf(file), key);
    return file;
  }

  /** The file of {@code key}, without looking at the filesystem. */
  /** The directory of a key's file: never null, a key's file lies below the root. */
  private static Path parentOf(Path file) {
    return java.util.Objects.requireNonNull(file.getParent(), "a key's file has a parent");
  }

  private Path file(String key) throws StoreException {
    for (String segment : Keys.requireValid(key).split("/")) {
      if (segment.getBytes(StandardCharsets.UTF_8).length > 255) {
        throw new StoreException("key " + key.substring(0, Math.min(key.length(), 60)) + "… has a name of more than 255 bytes, which no "
            + "file in " + describe() + " can have");
      }
    }
    return RawPaths.resolve(root, key.getBytes(StandardCharsets.UTF_8));
  }

  private void requireNoLinks(Path dir, String key) throws StoreException {
    for (Path p = dir; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
      if (Files.isSymbolicLink(p)) {
        throw linked(p, key);
      }
    }
  }

  private StoreException linked(Path p, String key) {
    return new StoreException("'" + root.relativize(p) + "' in " + describe() + " is a symbolic link; the "
        + "filesystem store never follows links (key " + key + ")");
  }

  @Override
  public void put(String key, InputStream content) throws IOException {
    write(key, content, true);
  }

  /** Exclusive: the finished temporary file is hard-linked to the key, which fails if anything is there. */
  @Override
  public boolean putIfAbsent(String key, byte[] content) throws IOException {
    return write(key, new java.io.ByteArrayInputStream(content), false);
  }

  private boolean write(String key, InputStream content, boolean replace) throws IOException {
    Path target = file(key);
    Path parent = parentOf(target);
    // Unique without the system's random source per write (a lock and a read); CREATE_NEW refuses a clash.
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    Path tmp = temp.resolve(new UUID(random.nextLong(), random.nextLong()) + ".part");
    boolean moved = false;
    try {
      try (FileChannel channel = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE), OwnerOnly.file())) {
        OutputStream out = Channels.newOutputStream(channel);
        content.transferTo(out);
        channel.force(true);
      } catch (IOException e) {
        if (String.valueOf(e.getMessage()).contains("No space left")) {
          throw new StoreException("no space left on the filesystem of " + root + " while writing " + key
              + ": free space there or choose another repository (nothing of this write is kept)", e);
        }
        throw e;
      }
      if (!Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS)) {
        requireNoLinks(parent, key);
        OwnerOnly.createDirectories(parent);
      }
      requireNoLinks(parent, key); // No link was raced into the path while the data was written.
      if (!replace) {
        try {
          Files.createLink(target, tmp);
        } catch (java.nio.file.FileAlreadyExistsException taken) {
          return false;
        }
        fsyncDirectory(parent);
        return true;
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        moved = true;
      } catch (AtomicMoveNotSupportedException e) {
        throw new StoreException("cannot rename atomically within " + root + ": " + e.getMessage(), e);
      }
      fsyncDirectory(parent);
      return true;
    } finally {
      if (!moved) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  private static void fsyncDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Some filesystems refuse to open directories; the rename itself has already happened.
    }
  }

  @Override
  public InputStream get(String key, long offset, long length) throws IOException {
    Path file = path(key);
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new ObjectNotFoundException(key);
    } catch (IOException e) {
      throw Files.isSymbolicLink(file) ? linked(file, key) : e; // ELOOP: the file is a link
    }
    channel.position(offset);
    InputStream in = Channels.newInputStream(channel);
    return length < 0 ? in : new RangeInputStream(in, length);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    BasicFileAttributes attrs = attributes(path(key));
    if (attrs == null || !attrs.isRegularFile()) {
      return Optional.empty();
    }
    return Optional.of(new ObjectInfo(key, attrs.size(), attrs.lastModifiedTime().toInstant()));
  }

  /**
   * Walks one directory at a time, its entries sorted so that the keys come out in code point order (a
   * directory sorts as its name followed by '/', as all the keys beneath it do).
   */
  @Override
  public Iterable<ObjectInfo> listing(String prefix) throws IOException {
    Keys.requireValidPrefix(prefix);
    int slash = prefix.lastIndexOf('/');
    Path start = slash < 0 ? root : path(prefix.substring(0, slash));
    if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
      return List.of();
    }
    return () -> new java.util.Iterator<>() {
      private final java.util.Deque<java.util.Iterator<Path>> stack = new java.util.ArrayDeque<>();

      {
        try {
          stack.push(sortedChildren(start));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }

      private @Nullable ObjectInfo next = advance();

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public ObjectInfo next() {
        if (next == null) {
          throw new java.util.NoSuchElementException();
        }
        ObjectInfo current = next;
        next = advance();
        return current;
      }

      private @Nullable ObjectInfo advance() {
        try {
          while (!stack.isEmpty()) {
            if (!stack.peek().hasNext()) {
              stack.pop();
              continue;
            }
            Path p = stack.peek().next();
            BasicFileAttributes attrs = attributes(p);
            if (attrs == null) {
              continue; // deleted during the walk: simply not listed
            }
            if (attrs.isDirectory()) {
              if (!p.startsWith(temp)) {
                stack.push(sortedChildren(p));
              }
              continue;
            }
            String key = RawPaths.utf8(RawPaths.bytes(root.relativize(p)));
            if (key == null) {
              throw new StoreException("'" + RawPaths.percentEncode(RawPaths.bytes(root.relativize(p))) + "' in "
                  + describe() + " has a name that is not UTF-8, which no key can name; rename it, or back the "
                  + "folder up as a directory (DirectorySource, CLI --source file:), which keeps such names exactly");
            }
            if (key.startsWith(prefix) && attrs.isRegularFile()) {
              return new ObjectInfo(key, attrs.size(), attrs.lastModifiedTime().toInstant());
            }
          }
          return null;
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    };
  }

  private static java.util.Iterator<Path> sortedChildren(Path dir) throws IOException {
    java.util.TreeMap<String, Path> children = new java.util.TreeMap<>(Keys::compareCodePoints); // each looked at once
    try (var entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        children.put(p.getFileName() + (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "/" : ""), p);
      }
    } catch (NoSuchFileException gone) {
      return java.util.Collections.emptyIterator();
    }
    return children.values().iterator();
  }

  /** The subdirectories of the prefix's directory that hold a file, at any depth; one directory read. */
  @Override
  public List<String> folders(String prefix) throws IOException {
    Keys.requireFolderPrefix(prefix);
    Path dir = prefix.isEmpty() ? root : path(prefix.substring(0, prefix.length() - 1));
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return List.of();
    }
    List<String> names = new java.util.ArrayList<>();
    for (java.util.Iterator<Path> children = sortedChildren(dir); children.hasNext(); ) {
      Path p = children.next();
      BasicFileAttributes attrs = attributes(p);
      if (attrs == null) {
        continue;
      }
      if (attrs.isSymbolicLink() && Files.isDirectory(p)) {
        // Not followed, so not there: say so, or a plan moved to another disk and linked back looks empty.
        org.slf4j.LoggerFactory.getLogger(FilesystemStore.class).warn("'{}' in {} is a symbolic link to a directory; "
            + "the filesystem store never follows links, so nothing beneath it is listed (move the directory itself "
            + "there)", root.relativize(p), describe());
      }
      if (attrs.isDirectory() && !p.equals(temp) && holdsAFile(p)) {
        String name = RawPaths.utf8(RawPaths.bytes(p.getFileName()));
        if (name == null) {
          throw new StoreException("'" + RawPaths.percentEncode(RawPaths.bytes(root.relativize(p))) + "' in "
              + describe() + " has a name that is not UTF-8, which no key can name");
        }
        names.add(name);
      }
    }
    return names;
  }

  /**
   * Whether a regular file lies somewhere beneath {@code dir}, depth first, stopping at the first (one open directory
   * per level, nothing collected). What is deleted meanwhile (retention, concurrently) is not there.
   */
  private static boolean holdsAFile(Path dir) throws IOException {
    try (java.nio.file.DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        BasicFileAttributes attrs = attributes(p);
        if (attrs != null && (attrs.isRegularFile() || attrs.isDirectory() && holdsAFile(p))) {
          return true;
        }
      }
    } catch (NoSuchFileException | java.nio.file.NotDirectoryException deletedMeanwhile) {
      return false;
    }
    return false;
  }

  /** The attributes of {@code p} itself (a link is not followed), or null if it was deleted meanwhile. */
  private static @Nullable BasicFileAttributes attributes(Path p) throws IOException {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException deletedMeanwhile) {
      return null;
    }
  }

  @Override
  public List<ObjectInfo> list(String prefix) throws IOException {
    return dev.savepoint.core.internal.PagedListing.collect(listing(prefix));
  }

  @Override
  public void delete(String key) throws IOException {
    Path file = path(key);
    Files.deleteIfExists(file);
    // Remove directories the delete emptied, so a pruned repository does not fill with empty folders.
    for (Path dir = file.getParent(); dir != null && !dir.equals(root) && dir.startsWith(root); dir = dir.getParent()) {
      try {
        Files.deleteIfExists(dir);
      } catch (DirectoryNotEmptyException e) {
        break;
      }
    }
  }

  /** Removes temporary files of writes that were killed before they finished. */
  @Override
  public int cleanupIncomplete(Duration olderThan) throws IOException {
    Instant cutoff = Instant.now().minus(olderThan);
    int deleted = 0;
    try (Stream<Path> files = Files.list(temp)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff) && Files.deleteIfExists(p)) {
          deleted++;
        }
      }
    }
    return deleted;
  }

  @Override
  public String describe() {
    return "file:" + root;
  }

  @Override
  public String toString() {
    return describe();
  }
}
