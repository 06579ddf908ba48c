package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.ObjectIndex;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.TargetNotEmptyException;
import dev.savepoint.core.internal.Keys;
import dev.savepoint.core.internal.OwnerOnly;
import dev.savepoint.core.internal.RawPaths;
import dev.savepoint.core.internal.Staging;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Set;

/**
 * Restores a backup whose artifacts are files under a common name prefix (e.g. {@code objects/} of a bucket
 * backup) into a directory, one file per artifact, keeping relative paths (for a bucket backup, the objects'
 * original keys). Files are written into a temporary sibling directory and moved into place only after every
 * digest was verified; an existing, non-empty destination is refused.
 *
 * <p>Keys that are no safe path under the destination — {@code .}, {@code ..} or empty segments, a leading
 * slash, a segment over 255 bytes, NUL, or a key that is also the "folder" of another key — follow one
 * {@link UnsafeKeys} policy, decided before anything is written: {@link UnsafeKeys#REFUSE} (the default) lists
 * them all and writes nothing; {@link UnsafeKeys#ESCAPE} writes each under {@code %unsafe/<sha-256 of the key>}
 * and lists the original keys in {@code %unsafe/index.json}. Nothing is ever written outside the destination.
 */
public final class FilesTarget implements RestoreTarget {
  /** What to do with keys that are no safe path. */
  public enum UnsafeKeys { REFUSE, ESCAPE }

  private final Path destination;
  private final String artifactPrefix;
  private final UnsafeKeys unsafeKeys;
  private final boolean replace;

  public FilesTarget(Path destination, String artifactPrefix) {
    this(destination, artifactPrefix, UnsafeKeys.REFUSE);
  }

  public FilesTarget(Path destination, String artifactPrefix, UnsafeKeys unsafeKeys) {
    this(destination, artifactPrefix, unsafeKeys, false);
  }

  private FilesTarget(Path destination, String artifactPrefix, UnsafeKeys unsafeKeys, boolean replace) {
    this.destination = destination.toAbsolutePath().normalize();
    this.artifactPrefix = artifactPrefix;
    this.unsafeKeys = unsafeKeys;
    this.replace = replace;
  }

  /** Replaces a non-empty destination once every file is in (old contents deleted after the move). */
  public FilesTarget replacingExisting() {
    return new FilesTarget(destination, artifactPrefix, unsafeKeys, true);
  }

  /** Whether {@code key} is a safe path under the destination by its own shape (not yet looking at other keys). */
  private static boolean safeShape(String key) {
    if (key.isEmpty() || key.startsWith("/") || key.indexOf('\0') >= 0) {
      return false;
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")
          || segment.getBytes(StandardCharsets.UTF_8).length > 255) {
        return false;
      }
    }
    return true;
  }

  /**
   * The keys that are no safe path under the destination: by their own shape, or because another key is their
   * folder ("a" and "a/b" cannot be a file and a directory both: "a/b" is unsafe). One pass over the keys in code
   * point order, remembering only the earlier keys that later ones may lie beneath (a key sorts right before
   * everything under it); keys out of that order (a backup of an emulator's listing) are compared with all keys.
   */
  private Set<String> unsafePaths(ArtifactReader artifacts) throws IOException {
    Set<String> unsafe = new java.util.HashSet<>();
    java.util.Deque<String> folders = new java.util.ArrayDeque<>();
    String[] last = {null};
    boolean[] sorted = {true};
    forEachFile(artifacts, (artifact, key) -> {
      if (!sorted[0] || last[0] != null && Keys.compareCodePoints(last[0], key) >= 0) {
        sorted[0] = false;
        return;
      }
      last[0] = key;
      // Keys made of an earlier key F and a character up to '/' sort among those under F: keep F till past them.
      while (!folders.isEmpty() && !(key.startsWith(folders.peek()) && key.charAt(folders.peek().length()) <= '/')) {
        folders.pop();
      }
      if (!safeShape(key) || folders.stream().anyMatch(f -> key.charAt(f.length()) == '/')) {
        unsafe.add(key);
      }
      folders.push(key);
    });
    if (sorted[0]) {
      return unsafe;
    }
    Set<String> all = new java.util.HashSet<>();
    forEachFile(artifacts, (artifact, key) -> all.add(key));
    unsafe.clear();
    for (String key : all) {
      boolean beneathAKey = false;
      for (int slash = key.indexOf('/'); slash > 0 && !beneathAKey; slash = key.indexOf('/', slash + 1)) {
        beneathAKey = all.contains(key.substring(0, slash));
      }
      if (!safeShape(key) || beneathAKey) {
        unsafe.add(key);
      }
    }
    return unsafe;
  }


  @FunctionalInterface
  private interface FileAction {
    void accept(ArtifactRecord artifact, String key) throws IOException;
  }

  /** Each artifact to write with its key: a bucket backup's objects from its index, else the artifacts by name. */
  private void forEachFile(ArtifactReader artifacts, FileAction action) throws IOException {
    if (artifactPrefix.equals(BucketSource.ARTIFACT_PREFIX)) { // a bucket backup: the original keys, exactly
      ObjectIndex.forEach(artifacts, e -> action.accept(e.artifact(), e.key()));
      return;
    }
    for (ArtifactRecord a : artifacts.manifest().artifacts()) {
      if (a.name().startsWith(artifactPrefix)) {
        action.accept(a, a.name().substring(artifactPrefix.length()));
      }
    }
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    Manifest manifest = artifacts.manifest();
    // Two passes over the objects: the keys alone first (which are no safe path), then the bytes — never every
    // object's record, nor (for a backup's sorted index) every key, in memory at once.
    Set<String> unsafePaths = unsafePaths(artifacts);
    java.util.TreeMap<String, String> unsafe = new java.util.TreeMap<>();
    for (String key : unsafePaths) {
      unsafe.put(BucketSource.sha256(key), key);
    }
    if (!unsafe.isEmpty() && unsafeKeys == UnsafeKeys.REFUSE) {
      throw new RestoreException(unsafe.size() + " key(s) of backup " + manifest.id() + " are no safe path under "
          + destination + ", so nothing was written: " + String.join(", ", unsafe.values().stream().limit(20)
              .map(k -> "'" + k.replaceAll("\\p{Cntrl}", "?") + "'").toList()) + (unsafe.size() > 20 ? ", ..." : "")
          + "; restore to a bucket (exact keys), or with --on-unsafe-keys escape");
    }
    OwnerOnly.createDirectories(destination.getParent());
    Path staging = Staging.restoring(destination); // first puts back what a killed restore moved away
    boolean existing = false;
    if (Files.exists(destination)) {
      try (var entries = Files.list(destination)) {
        existing = entries.findAny().isPresent();
      }
      if (existing && !replace) {
        throw new TargetNotEmptyException("restore target " + destination + " is not empty; choose a new directory, or "
            + "replace it explicitly (--replace)");
      }
      if (!existing) {
        Files.delete(destination);
      }
    }
    OwnerOnly.createDirectory(staging);
    int[] files = {0};
    try {
      forEachFile(artifacts, (artifact, key) -> {
        String relative = unsafePaths.contains(key) ? UNSAFE_DIR + "/" + BucketSource.sha256(key) : key;
        Path file = RawPaths.resolve(staging, relative.getBytes(StandardCharsets.UTF_8)).normalize();
        if (!file.startsWith(staging) || file.equals(staging)) {
          throw new IntegrityException("artifact '" + artifact.name() + "' would be written outside " + destination);
        }
        OwnerOnly.createDirectories(file.getParent());
        try (InputStream in = artifacts.open(artifact);
            java.io.OutputStream out = Files.newOutputStream(Files.createFile(file, OwnerOnly.file()))) {
          in.transferTo(out);
        }
        files[0]++;
      });
      if (!unsafe.isEmpty()) {
        Files.write(staging.resolve(UNSAFE_DIR).resolve("index.json"),
            dev.savepoint.core.internal.ManifestCodec.JSON.writeValueAsBytes(unsafe));
      }
      if (existing) {
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
    Map<String, Object> facts = new java.util.LinkedHashMap<>();
    facts.put("files", files[0]);
    if (!unsafe.isEmpty()) {
      facts.put("escapedKeys", unsafe.size());
    }
    return facts;
  }

  /** Where {@link UnsafeKeys#ESCAPE} puts the objects whose keys are no safe path. */
  public static final String UNSAFE_DIR = "%unsafe";

  @Override
  public String describe() {
    return "directory " + destination;
  }
}
