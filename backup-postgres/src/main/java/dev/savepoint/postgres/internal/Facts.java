package dev.savepoint.postgres.internal;

import java.util.Map;

/** Numbers a backup's manifest records among its source facts, read with an error that names what is missing. */
public final class Facts {
  private Facts() {}

  /** The number {@code facts} records under {@code key}; refused (naming the key) when it records none. */
  public static Number number(Map<String, ?> facts, String key) {
    if (facts.get(key) instanceof Number n) {
      return n;
    }
    throw new IllegalStateException("the backup's manifest records no number '" + key + "' (" + facts.get(key)
        + "): not a backup this kind of restore reads");
  }
}
