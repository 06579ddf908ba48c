package dev.savepoint.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.savepoint.core.ConfigurationException;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;

/** One clear line for a plan or recovery file that does not parse: where, what, and for an unknown key the valid ones. */
final class ConfigErrors {
  private ConfigErrors() {}

  static ConfigurationException of(String what, Path file, JsonProcessingException e) {
    String where = what + " " + file + (e.getLocation() == null || e.getLocation().getLineNr() < 1 ? ""
        : " line " + e.getLocation().getLineNr());
    if (e instanceof UnrecognizedPropertyException unknown) {
      int line = lineOf(file, unknown.getPropertyName()); // the parser stands past the key by then
      where = line > 0 ? what + " " + file + " line " + line : where;
      TreeSet<String> valid = new TreeSet<>();
      unknown.getKnownPropertyIds().forEach(k -> valid.add(String.valueOf(k)));
      String key = unknown.getPropertyName();
      String guess = dev.savepoint.core.internal.Suggestions.nearest(key, valid)
          .map(k -> " (did you mean '" + k + "'?)").orElse("");
      return new ConfigurationException(where + ": unknown key '" + key + "'" + guess + "; valid keys here: "
          + String.join(", ", valid) + " (docs/reference.md describes each)");
    }
    return new ConfigurationException(where + ": " + e.getOriginalMessage()
        .replaceAll("\\(class [^)]*\\)", "").replaceAll("dev\\.savepoint\\.cli\\.\\w+\\$(\\w+)", "$1")
        .replaceAll("\\R", " "));
  }

  /** The first line of {@code file} that sets {@code key} (YAML {@code key:}, JSON {@code "key"}, properties {@code .key=}). */
  private static int lineOf(Path file, String key) {
    java.util.regex.Pattern p = java.util.regex.Pattern.compile("^\\s*(-\\s*)?(\"" + java.util.regex.Pattern.quote(key)
        + "\"|" + java.util.regex.Pattern.quote(key) + ")\\s*:|[.\\s]" + java.util.regex.Pattern.quote(key) + "\\s*=");
    try {
      List<String> lines = java.nio.file.Files.readAllLines(file);
      for (int i = 0; i < lines.size(); i++) {
        if (p.matcher(lines.get(i)).find()) {
          return i + 1;
        }
      }
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      // the parser's line stands
    }
    return 0;
  }
}
