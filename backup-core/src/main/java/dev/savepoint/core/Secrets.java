package dev.savepoint.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Where restore-time transforms get key material (passphrases, key files) from, by name — e.g.
 * {@code "openpgp.passphrase"}. Implementations never log or print the values they return. Combine sources
 * with {@link #orElse}:
 *
 * <pre>{@code
 * Secrets secrets = Secrets.fromFiles(Path.of("/run/secrets/savepoint"))       // a mounted Kubernetes Secret
 *     .orElse(Secrets.fromEnvironment(Map.of(OpenPgpEncryption.PASSPHRASE, "BACKUP_PASSPHRASE")));
 * }</pre>
 */
@FunctionalInterface
public interface Secrets {
  /** The secret named {@code name}, e.g. {@code "openpgp.passphrase"}; a fresh array the caller may clear. */
  Optional<char[]> get(String name);

  static Secrets none() {
    return name -> Optional.empty();
  }

  /** These values by name (copied now). */
  static Secrets of(Map<String, char[]> values) {
    Map<String, char[]> copy = new HashMap<>();
    values.forEach((k, v) -> copy.put(k, v.clone()));
    return name -> Optional.ofNullable(copy.get(name)).map(char[]::clone);
  }

  /**
   * Each secret from the environment variable {@code variables} maps its name to, read when asked for: e.g.
   * {@code Map.of("openpgp.passphrase", "BACKUP_PASSPHRASE")}. An unset or empty variable is no secret.
   */
  static Secrets fromEnvironment(Map<String, String> variables) {
    Map<String, String> copy = Map.copyOf(variables);
    return name -> Optional.ofNullable(copy.get(name)).map(System::getenv).filter(v -> !v.isEmpty())
        .map(String::toCharArray);
  }

  /**
   * Each secret from the file {@code <directory>/<name>} (as Docker and Kubernetes mount secrets), read when asked
   * for, as UTF-8 without its trailing line break. A missing file is no secret; names with a path separator or a
   * leading dot are refused.
   */
  static Secrets fromFiles(Path directory) {
    return name -> {
      if (!name.matches("[A-Za-z0-9_-][A-Za-z0-9._-]*")) {
        throw new IllegalArgumentException("secret name '" + name + "' cannot name a file");
      }
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(directory.resolve(name));
      } catch (NoSuchFileException e) {
        return Optional.empty();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read secret '" + name + "' from " + directory, e);
      }
      int end = bytes.length;
      while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r')) {
        end--;
      }
      var chars = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(bytes, 0, end));
      char[] value = Arrays.copyOfRange(chars.array(), chars.position(), chars.limit());
      Arrays.fill(bytes, (byte) 0);
      Arrays.fill(chars.array(), '\0');
      return Optional.of(value);
    };
  }

  /** These secrets, and {@code other}'s for names these lack. */
  default Secrets orElse(Secrets other) {
    return name -> {
      Optional<char[]> mine = get(name);
      return mine.isPresent() ? mine : other.get(name);
    };
  }
}
