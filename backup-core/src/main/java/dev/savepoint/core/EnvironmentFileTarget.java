package dev.savepoint.core;

import dev.savepoint.core.internal.ManifestCodec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;

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
    StringBuilder text = new StringBuilder("# Restored by savepoint from backup " + artifacts.manifest().id() + "\n");
    if (artifacts.manifest().source().facts().get("withheldAsSecret") instanceof java.util.List<?> withheld) {
      for (Object name : withheld) {
        text.append("# ").append(name).append("= (a secret: not in the backup, set it from your secret store)\n");
      }
    }
    values.forEach((k, v) -> {
      String value = String.valueOf(v);
      boolean plain = value.matches("[A-Za-z0-9_./:@,+=-]*");
      text.append(k).append('=').append(plain ? value
          : "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"").append('\n');
    });
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling("." + file.getFileName() + ".savepoint-" + java.util.UUID.randomUUID());
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return Map.of("variables", values.size());
  }

  @Override
  public String describe() {
    return "environment file " + file;
  }
}
