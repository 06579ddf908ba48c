package dev.savepoint.core.sources;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.internal.ManifestCodec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Restores an {@link EnvironmentSource} backup as a dotenv file ({@code KEY=value} lines, values quoted when
 * needed), written to a temporary sibling and moved into place once complete: e.g. the application's {@code .env}.
 * Withheld secrets are not in the backup: the file lists them as comments, for the operator to fill in.
 */
public final class EnvironmentFileTarget implements RestoreTarget {
  private final Path file;

  public EnvironmentFileTarget(Path file) {
    this.file = file.toAbsolutePath().normalize();
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    if (!artifacts.manifest().source().type().equals("environment")) {
      throw new RestoreException("backup " + artifacts.manifest().id() + " is not a configuration (env:) backup");
    }
    Map<?, ?> values;
    try (InputStream in = artifacts.open(EnvironmentSource.ARTIFACT)) {
      values = new TreeMap<>(ManifestCodec.JSON.readValue(in, Map.class));
    }
    List<String> unfit = values.keySet().stream().map(String::valueOf).filter(k -> !k.matches(NAME)).toList();
    if (!unfit.isEmpty()) {
      throw new RestoreException(unfit.size() + " variable name(s) of backup " + artifacts.manifest().id()
          + " cannot be written to a dotenv file, so nothing was written: " + unfit.stream().limit(20)
              .map(k -> "'" + k.replaceAll("\\p{Cntrl}", "?") + "'").collect(Collectors.joining(", "))
          + "; restore with --to file:<path> for the exact JSON");
    }
    StringBuilder text = new StringBuilder("# Restored by savepoint from backup " + artifacts.manifest().id() + "\n");
    if (artifacts.manifest().source().facts().get("withheldAsSecret") instanceof List<?> withheld) {
      for (Object name : withheld) {
        if (String.valueOf(name).matches(NAME)) {
          text.append("# ").append(name).append("= (a secret: not in the backup, set it from your secret store)\n");
        }
      }
    }
    values.forEach((k, v) -> text.append(k).append('=').append(quoted(String.valueOf(v))).append('\n'));
    dev.savepoint.core.internal.OwnerOnly.createDirectories(file.getParent());
    Path tmp = dev.savepoint.core.internal.Staging.restoring(file);
    var mode = dev.savepoint.core.internal.OwnerOnly.fileReplacing(file);
    Files.writeString(Files.createFile(tmp, mode), text, StandardCharsets.UTF_8);
    dev.savepoint.core.internal.OwnerOnly.apply(tmp, mode);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return Map.of("variables", values.size());
  }

  /** A name that shells, Docker Compose and dotenv libraries all read the same way. */
  private static final String NAME = "[A-Za-z_][A-Za-z0-9_]*";

  /**
   * The value as every reader of a dotenv file reads it back, and never as code: plain when it has only safe
   * characters, in single quotes (no expansion anywhere) when it can be, else in double quotes with
   * {@code \ " $ `} escaped (so that sourcing the file in a shell runs nothing) and line breaks as {@code \n}.
   */
  static String quoted(String value) {
    if (value.matches("[A-Za-z0-9_./:@,+=-]*")) {
      return value;
    }
    if (value.indexOf('\'') < 0 && value.indexOf('\n') < 0 && value.indexOf('\r') < 0) {
      return "'" + value + "'";
    }
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("$", "\\$").replace("`", "\\`")
        .replace("\r", "\\r").replace("\n", "\\n") + "\"";
  }

  @Override
  public String describe() {
    return "environment file " + file;
  }
}
