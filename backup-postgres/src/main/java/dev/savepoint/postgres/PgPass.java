package dev.savepoint.postgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * libpq's password file: {@code PGPASSFILE}, else {@code $HOME/.pgpass} (the environment's HOME, as libpq reads
 * it, not the JVM's {@code user.home}). Lines {@code host:port:database:user:password}, {@code *} matching
 * anything, {@code \:} and {@code \\} escaped; the first matching line wins.
 */
final class PgPass {
  private PgPass() {}

  static char @Nullable [] lookup(String host, int port, String database, String user) {
    String file = System.getenv("PGPASSFILE");
    if (file == null) {
      String home = System.getenv("HOME");
      file = (home != null ? home : System.getProperty("user.home")) + "/.pgpass";
    }
    Path path = Path.of(file);
    if (!Files.isRegularFile(path)) {
      return null;
    }
    try {
      for (String line : Files.readAllLines(path)) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        List<String> f = fields(line);
        if (f.size() == 5 && matches(f.get(0), host) && matches(f.get(1), Integer.toString(port))
            && matches(f.get(2), database) && matches(f.get(3), user)) {
          return f.get(4).toCharArray();
        }
      }
    } catch (IOException e) {
      return null; // As libpq: an unreadable file is no password.
    }
    return null;
  }

  private static boolean matches(String pattern, String value) {
    return pattern.equals("*") || pattern.equals(value);
  }

  private static List<String> fields(String line) {
    List<String> fields = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\\' && i + 1 < line.length()) {
        current.append(line.charAt(++i));
      } else if (c == ':' && fields.size() < 4) {
        fields.add(current.toString());
        current.setLength(0);
      } else {
        current.append(c);
      }
    }
    fields.add(current.toString());
    return fields;
  }
}
