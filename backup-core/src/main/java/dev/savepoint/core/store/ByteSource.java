package dev.savepoint.core.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A reopenable supplier of bytes: every {@link #openStream()} returns a new, independent stream positioned
 * at the start. Because it can be replayed, a {@link Store} may retry an upload from a ByteSource; it
 * cannot retry one from a plain {@link InputStream}.
 */
@FunctionalInterface
public interface ByteSource {
  /** Opens a new stream; the caller closes it. */
  InputStream openStream() throws IOException;

  static ByteSource wrap(byte[] bytes) {
    byte[] copy = bytes.clone();
    return () -> new ByteArrayInputStream(copy);
  }

  static ByteSource ofFile(Path file) {
    return () -> Files.newInputStream(file);
  }
}
