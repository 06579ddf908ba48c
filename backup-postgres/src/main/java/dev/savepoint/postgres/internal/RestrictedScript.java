package dev.savepoint.postgres.internal;

import dev.savepoint.core.RestoreException;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What psql reads from Savepoint: a script that starts with {@code \restrict <random key>}, so that no backslash
 * command in bytes from a repository ({@code \!} runs a shell, {@code \o |} a pipe, {@code \copy} files) runs on the
 * restore host. psql refuses every backslash command after it but <code>&#92;unrestrict</code> with that key, which nothing
 * in the script can know. A genuine dump of pg_dump 15.14+ restricts itself the same way: its own {@code \restrict}
 * line (only among the header's comment lines) and the matching <code>&#92;unrestrict</code> are dropped, since psql cannot
 * nest them. psql without {@code \restrict} (before 13.22, 14.19, 15.14, 16.10, 17.6) is refused.
 */
public final class RestrictedScript extends FilterOutputStream {
  private static final Pattern OWN_RESTRICT = Pattern.compile("\\\\restrict ([A-Za-z0-9]{1,128})\\r?");
  private static final Map<String, Boolean> CHECKED = new ConcurrentHashMap<>();

  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private boolean header = true;
  private boolean atLineStart = true;
  /** True while the current line is held back (it starts with a backslash, or is a header line). */
  private boolean holding;
  private String dumpKey;

  private RestrictedScript(OutputStream psqlInput) throws IOException {
    super(psqlInput);
    byte[] key = new byte[24];
    new SecureRandom().nextBytes(key);
    out.write(("\\restrict " + HexFormat.of().formatHex(key) + "\n").getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * {@code psqlInput} (the standard input of {@code psql}, found at {@code psql}) as a restricted script; refuses a
   * psql that cannot be restricted, naming the versions that can.
   */
  public static OutputStream feeding(String psql, OutputStream psqlInput) throws IOException {
    requireRestrictable(psql);
    return new RestrictedScript(psqlInput);
  }

  /** Refuses (once checked, per path) a psql without {@code \restrict}. */
  public static void requireRestrictable(String psql) throws IOException {
    if (CHECKED.containsKey(psql)) {
      return;
    }
    String version;
    try {
      Process p = PgTools.processBuilder(java.util.List.of(psql, "--version")).redirectErrorStream(true).start();
      version = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      p.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RestoreException("interrupted while checking the version of " + psql);
    } catch (IOException e) {
      throw new RestoreException(psql + " could not be started (" + e.getMessage() + "); install the PostgreSQL "
          + "client tools or set SAVEPOINT_PG_BIN", e);
    }
    if (!restrictable(version)) {
      throw new RestoreException(psql + " is '" + version + "', which cannot run a script restricted (\\restrict "
          + "came with 13.22, 14.19, 15.14, 16.10 and 17.6): a backup's SQL could run commands on this host through "
          + "it. Install a current PostgreSQL client (or point SAVEPOINT_PG_BIN at one); nothing was loaded");
    }
    CHECKED.put(psql, true);
  }

  /** Whether {@code psql --version} output names a psql with {@code \restrict}. */
  static boolean restrictable(String version) {
    Matcher m = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?").matcher(version);
    if (!m.find()) {
      return false;
    }
    int major = Integer.parseInt(m.group(1));
    int minor = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
    return switch (major) {
      case 13 -> minor >= 22;
      case 14 -> minor >= 19;
      case 15 -> minor >= 14;
      case 16 -> minor >= 10;
      case 17 -> minor >= 6;
      default -> major > 17;
    };
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    int end = off + len;
    int i = off;
    while (i < end) {
      if (atLineStart) {
        holding = header || b[i] == '\\';
        atLineStart = false;
      }
      int newline = indexOf(b, i, end);
      int stop = newline < 0 ? end : newline + 1;
      if (holding) {
        line.write(b, i, stop - i);
        if (line.size() > 4096) { // no line Savepoint drops is this long: let it through
          header = false;
          release(line.toByteArray());
        }
      } else {
        out.write(b, i, stop - i);
      }
      if (newline >= 0) {
        atLineStart = true;
        if (holding) {
          endOfHeldLine(line.toString(StandardCharsets.UTF_8));
        }
      }
      i = stop;
    }
  }

  private void endOfHeldLine(String text) throws IOException {
    String content = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    Matcher own = OWN_RESTRICT.matcher(content);
    if (header && dumpKey == null && own.matches()) {
      dumpKey = own.group(1); // pg_dump's own restriction: ours stands in for it
      line.reset();
      holding = false;
      return;
    }
    if (dumpKey != null && content.strip().equals("\\unrestrict " + dumpKey)) {
      line.reset();
      holding = false;
      return;
    }
    String trimmed = content.strip();
    if (header && !trimmed.isEmpty() && !trimmed.startsWith("--")) {
      header = false;
    }
    release(line.toByteArray());
  }

  private void release(byte[] held) throws IOException {
    out.write(held);
    line.reset();
    holding = false;
  }

  private static int indexOf(byte[] b, int from, int end) {
    for (int i = from; i < end; i++) {
      if (b[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    if (line.size() > 0) {
      endOfHeldLine(line.toString(StandardCharsets.UTF_8));
    }
    super.close();
  }
}
