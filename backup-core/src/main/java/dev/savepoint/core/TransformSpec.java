package dev.savepoint.core;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A transform's name and the parameters needed to reverse it, as recorded in the manifest. Parameters are
 * never secret: key ids and wrapped keys, not passphrases or plaintext keys.
 */
public record TransformSpec(String name, Map<String, String> params) {
  public TransformSpec {
    Objects.requireNonNull(name, "name");
    params = params == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(params));
  }

  public String param(String key) {
    String value = params.get(key);
    if (value == null) {
      throw new IllegalArgumentException("transform '" + name + "' lacks parameter '" + key + "'");
    }
    return value;
  }
}
