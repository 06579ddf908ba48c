package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactWriter;
import dev.savepoint.core.Source;
import dev.savepoint.core.SourceException;
import dev.savepoint.core.store.ByteSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** A source of one artifact copied from a stream: a file, standard input, or any {@link ByteSource}. */
public final class StreamSource implements Source {
  private final String type;
  private final String artifactName;
  private final ByteSource bytes;
  private final Map<String, Object> facts;

  private StreamSource(String type, String artifactName, ByteSource bytes, Map<String, Object> facts) {
    this.type = type;
    this.artifactName = Objects.requireNonNull(artifactName);
    this.bytes = Objects.requireNonNull(bytes);
    this.facts = facts;
  }

  public static StreamSource of(String artifactName, ByteSource bytes) {
    return new StreamSource("stream", artifactName, bytes, Map.of());
  }

  /** Standard input of this process, read once. */
  public static StreamSource stdin(String artifactName) {
    return new StreamSource("stream", artifactName, () -> new java.io.FilterInputStream(System.in) {
      @Override
      public void close() {
        // Standard input belongs to the process, not to the backup.
      }
    }, Map.of());
  }

  /** A single file; the artifact is named after it. */
  public static StreamSource file(Path file) {
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("path", file.toAbsolutePath().toString());
    return new StreamSource("file", file.getFileName().toString(), () -> {
      try {
        return Files.newInputStream(file);
      } catch (NoSuchFileException e) {
        throw new SourceException("source file " + file + " does not exist");
      }
    }, facts);
  }

  @Override
  public String type() {
    return type;
  }

  @Override
  public Map<String, Object> backup(ArtifactWriter writer) throws IOException {
    try (InputStream in = bytes.openStream(); OutputStream out = writer.open(artifactName)) {
      in.transferTo(out);
    }
    return facts;
  }
}
