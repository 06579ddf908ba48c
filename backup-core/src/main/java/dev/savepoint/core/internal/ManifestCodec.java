package dev.savepoint.core.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.UnsupportedFormatException;
import java.io.IOException;

/** Reads and writes manifests as JSON; refuses malformed ones and ones from a newer format. */
public final class ManifestCodec {
  /**
   * The JSON mapping of Savepoint's own documents (manifests, approvals, notifications): ISO-8601 times,
   * indented, tolerant of fields added by later versions.
   */
  public static final ObjectMapper JSON = new ObjectMapper()
      .registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private ManifestCodec() {}

  public static byte[] write(Manifest manifest) {
    try {
      return JSON.writeValueAsBytes(manifest);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialize manifest " + manifest.id(), e);
    }
  }

  /** Parses {@code bytes} read from {@code key}; errors name the key. */
  public static Manifest read(String key, byte[] bytes) throws IOException {
    JsonNode tree;
    try {
      tree = JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new IntegrityException("malformed manifest " + key + ": not valid JSON ("
          + e.getOriginalMessage() + ")");
    }
    if (tree == null || !tree.isObject() || !tree.path("formatVersion").isInt()) {
      throw new IntegrityException("malformed manifest " + key + ": no integer 'formatVersion' field");
    }
    int version = tree.get("formatVersion").asInt();
    if (version > Manifest.FORMAT_VERSION || version < 1) {
      throw new UnsupportedFormatException("manifest " + key + " has format version " + version
          + "; this Savepoint reads versions 1.." + Manifest.FORMAT_VERSION + ": upgrade Savepoint");
    }
    try {
      Manifest manifest = JSON.treeToValue(tree, Manifest.class);
      if (manifest.startedAt() == null || manifest.finishedAt() == null || manifest.source() == null) {
        throw new IntegrityException("malformed manifest " + key + ": missing times or source");
      }
      for (var artifact : manifest.artifacts()) {
        Keys.requireValid(artifact.key()); // a key that names no object ('..', empty segments) is damage, not a key
      }
      return manifest;
    } catch (JsonProcessingException | IllegalArgumentException | NullPointerException e) {
      throw new IntegrityException("malformed manifest " + key + ": " + e.getMessage());
    }
  }
}
