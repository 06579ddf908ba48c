package dev.savepoint.core;

import java.io.IOException;
import java.util.Map;

/**
 * Produces the data of one backup as one or more named artifacts. Implementations must not log or return
 * secrets (connection passwords) in facts or messages.
 */
public interface Source {
  /** A short type name recorded in the manifest, e.g. {@code directory} or {@code postgresql}. */
  String type();

  /**
   * Writes every artifact through {@code writer} and returns facts for the manifest (JSON-compatible
   * values: strings, numbers, booleans, lists and maps). Throwing fails the backup; no manifest is written.
   */
  Map<String, Object> backup(ArtifactWriter writer) throws IOException;
}
