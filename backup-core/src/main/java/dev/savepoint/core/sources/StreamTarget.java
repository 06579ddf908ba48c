package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.RestoreTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Restores a single-artifact backup ({@link StreamSource}) to a file or a stream. A file is written under a
 * temporary name and renamed into place only after the digests have been verified; an existing file is
 * refused unless replacing is asked for.
 */
public final class StreamTarget implements RestoreTarget {
  private final @Nullable Path file;
  private final @Nullable OutputStream stream;
  private final boolean replace;

  private StreamTarget(@Nullable Path file, @Nullable OutputStream stream, boolean replace) {
    this.file = file == null ? null : file.toAbsolutePath().normalize();
    this.stream = stream;
    this.replace = replace;
  }

  public static StreamTarget file(Path file) {
    return new StreamTarget(file, null, false);
  }

  /**
   * Writes to {@code out} (not closed). A stream cannot be un-written: a digest failure is thrown only after
   * the bytes went out, so use this for pipes whose reader treats a non-zero exit as failure.
   */
  public static StreamTarget stream(OutputStream out) {
    return new StreamTarget(null, out, false);
  }

  public StreamTarget replacingExisting() {
    return new StreamTarget(file, stream, true);
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    if (artifacts.manifest().artifacts().size() != 1) {
      throw new RestoreException("backup " + artifacts.manifest().id() + " has "
          + artifacts.manifest().artifacts().size() + " artifacts; a file target takes exactly one");
    }
    ArtifactRecord artifact = artifacts.manifest().artifacts().get(0);
    if (stream != null) {
      try (InputStream in = artifacts.open(artifact)) {
        in.transferTo(stream);
      }
      stream.flush();
      return Map.of();
    }
    Path file = java.util.Objects.requireNonNull(this.file); // a stream target returned above
    if (Files.exists(file) && !replace) {
      throw new RestoreException("restore target " + file + " already exists; choose a new path or replace it");
    }
    dev.savepoint.core.internal.OwnerOnly.createDirectories(file.getParent());
    Path tmp = dev.savepoint.core.internal.Staging.restoring(file);
    var mode = dev.savepoint.core.internal.OwnerOnly.fileReplacing(file);
    try {
      try (InputStream in = artifacts.open(artifact); FileChannel channel = FileChannel.open(tmp,
          java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), mode)) {
        in.transferTo(Channels.newOutputStream(channel));
        channel.force(true);
      }
      dev.savepoint.core.internal.OwnerOnly.apply(tmp, mode);
      // What was there stays beside it (a second name for the same file: no copy), as a directory restore keeps it.
      Path kept = Files.isRegularFile(file) ? dev.savepoint.core.internal.Staging.kept(file) : null;
      if (kept != null) {
        try {
          Files.createLink(kept, file);
        } catch (IOException | UnsupportedOperationException e) {
          Files.copy(file, kept, StandardCopyOption.COPY_ATTRIBUTES); // a filesystem without hard links
        }
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      if (kept != null) {
        org.slf4j.LoggerFactory.getLogger(StreamTarget.class).info("the previous contents of {} are kept at {}: "
            + "delete it once the restore is confirmed", file, kept);
        return Map.of("replacedKeptAt", kept.toString());
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    return Map.of();
  }

  @Override
  public String describe() {
    return file != null ? "file " + file : "stream";
  }
}
