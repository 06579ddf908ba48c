package dev.savepoint.postgres.internal;

import dev.savepoint.core.RestoreException;
import dev.savepoint.core.SourceException;
import dev.savepoint.postgres.PostgresUrl;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Finds and runs PostgreSQL's client tools. */
public final class PgTools {
  private PgTools() {}

  /**
   * The tool {@code name} for a server of major version {@code serverMajor}: from {@code SAVEPOINT_PG_BIN} (or the
   * system property {@code savepoint.pgBin}), else {@code /usr/lib/postgresql/<major>/bin} of that major or the
   * newest one installed (a newer pg_dump can dump an older server), else whatever is on the PATH.
   * {@code SAVEPOINT_PG_BIN} is one bin directory, or several separated by {@code :} like PATH (e.g. a server
   * tarball's bin and the machine's client tools): then the directory whose tool is of {@code serverMajor}, else the
   * newest one not older than it, else the search above (also when the one directory named lacks the tool).
   */
  public static String find(String name, int serverMajor) {
    String pgBin = System.getProperty("savepoint.pgBin", System.getenv("SAVEPOINT_PG_BIN"));
    return find(name, serverMajor, pgBin, Path.of("/usr/lib/postgresql"));
  }

  /**
   * A tool that only understands its own major's formats ({@code pg_waldump} reads the WAL of its major alone and
   * says nothing useful of another's): found as {@link #find} does, and refused with a {@link
   * dev.savepoint.core.ConfigurationException} naming the client to install unless its {@code --version} is
   * {@code serverMajor}.
   */
  public static String findExact(String name, int serverMajor) throws IOException {
    return exact(find(name, serverMajor), name, serverMajor);
  }

  /**
   * A client tool that reads servers of its own major and older ({@code pg_basebackup}, {@code pg_dump}): refused
   * with a {@link dev.savepoint.core.ConfigurationException} naming the client to install when it is older than the
   * server (it would fail with "incompatible server version" after the backup began).
   */
  public static String findAtLeast(String name, int serverMajor) throws IOException {
    String tool = find(name, serverMajor);
    int major = majorOf(tool);
    if (major >= 0 && major < serverMajor) {
      throw new dev.savepoint.core.ConfigurationException("this needs " + name + " of PostgreSQL " + serverMajor
          + " or newer for a PostgreSQL " + serverMajor + " server, found " + tool + " (PostgreSQL " + major + "); "
          + "install the PostgreSQL " + serverMajor + " client (e.g. apt-get install postgresql-client-" + serverMajor
          + ") or point SAVEPOINT_PG_BIN at its bin directory");
    }
    return tool;
  }

  private static final java.util.Map<String, Integer> MAJORS = new java.util.concurrent.ConcurrentHashMap<>();

  /** {@link #majorOf}, asked once per tool path. */
  private static int cachedMajor(String tool) {
    Integer known = MAJORS.get(tool);
    if (known != null) {
      return known;
    }
    try {
      int major = majorOf(tool);
      if (major >= 0) {
        MAJORS.put(tool, major);
      }
      return major;
    } catch (IOException e) {
      return -1;
    }
  }

  /** The major version {@code tool --version} reports, or -1 if it says none (or cannot be run). */
  static int majorOf(String tool) throws IOException {
    return majorIn(version(tool));
  }

  private static int majorIn(String version) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(PostgreSQL\\) (\\d+)").matcher(version);
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }

  /** What {@code tool --version} prints, or "not found" if it cannot be run. */
  private static String version(String tool) throws IOException {
    try {
      Process p = processBuilder(List.of(tool, "--version")).redirectErrorStream(true).start();
      String version = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      p.waitFor();
      return version;
    } catch (IOException e) {
      return "not found";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while asking " + tool + " for its version");
    }
  }

  static String exact(String tool, String name, int serverMajor) throws IOException {
    String version = version(tool);
    if (majorIn(version) != serverMajor) {
      throw new dev.savepoint.core.ConfigurationException("this needs " + name + " of PostgreSQL " + serverMajor
          + " (it reads only its own major's WAL), found " + tool + ": " + version + "; install the PostgreSQL "
          + serverMajor + " client (e.g. apt-get install postgresql-client-" + serverMajor + ") or point "
          + "SAVEPOINT_PG_BIN at its bin directory");
    }
    return tool;
  }

  static String find(String name, int serverMajor, String pgBin, Path base) {
    List<Path> listed = pgBin == null ? List.of() : java.util.Arrays.stream(pgBin.split(java.io.File.pathSeparator))
        .filter(dir -> !dir.isBlank()).map(Path::of).toList();
    if (listed.size() == 1 && Files.isExecutable(listed.get(0).resolve(name))) {
      return listed.get(0).resolve(name).toString(); // named outright: that one, whatever its major
    }
    List<String> candidates = listed.stream().map(dir -> dir.resolve(name)).filter(Files::isExecutable)
        .map(Path::toString).toList();
    Optional<String> listedTool = candidates.stream().filter(tool -> cachedMajor(tool) == serverMajor).findFirst()
        .or(() -> candidates.stream().filter(tool -> cachedMajor(tool) > serverMajor)
            .max(Comparator.comparingInt(PgTools::cachedMajor)));
    if (listedTool.isPresent()) {
      return listedTool.get();
    }
    Path exact = base.resolve(Integer.toString(serverMajor)).resolve("bin").resolve(name);
    if (Files.isExecutable(exact)) {
      return exact.toString();
    }
    if (Files.isDirectory(base)) {
      try (Stream<Path> majors = Files.list(base)) {
        Optional<Path> newest = majors.filter(p -> Files.isExecutable(p.resolve("bin").resolve(name)))
            .filter(p -> major(p) >= serverMajor)
            .max(Comparator.comparingInt(PgTools::major));
        if (newest.isPresent()) {
          return newest.get().resolve("bin").resolve(name).toString();
        }
      } catch (IOException e) {
        // Fall back to the PATH.
      }
    }
    return name;
  }

  private static int major(Path p) {
    try {
      return Integer.parseInt(p.getFileName().toString());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * What a PostgreSQL tool may see of this process's environment: paths, locale, time zone and libpq's own
   * settings. Nothing else (passphrases, cloud credentials, the application's secrets) reaches a child process.
   */
  private static final java.util.Set<String> PASSED_THROUGH = java.util.Set.of("PATH", "HOME", "USER", "LANG",
      "LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES", "TZ", "TMPDIR", "PGPASSFILE", "PGSERVICEFILE",
      "PGSYSCONFDIR", "PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGSSLCRL", "PGSSLCRLDIR",
      "PGSSLMINPROTOCOLVERSION", "PGGSSENCMODE", "PGKRBSRVNAME", "PGTARGETSESSIONATTRS", "PGCONNECT_TIMEOUT");

  /** A process builder for {@code command} with a minimal environment plus the connection settings of {@code url}. */
  public static ProcessBuilder processBuilder(List<String> command, PostgresUrl url) {
    ProcessBuilder pb = processBuilder(command);
    pb.environment().putAll(url.toolEnvironment());
    return pb;
  }

  /** A process builder for {@code command} with a minimal environment and no connection settings. */
  public static ProcessBuilder processBuilder(List<String> command) {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().keySet().retainAll(PASSED_THROUGH);
    return pb;
  }

  /** Starts {@code command} with a minimal environment and the connection settings of {@code url}; stderr is captured. */
  public static Process start(List<String> command, PostgresUrl url) throws IOException {
    ProcessBuilder pb = processBuilder(command, url);
    try {
      return pb.start();
    } catch (IOException e) {
      throw new SourceException(command.get(0) + " could not be started (" + e.getMessage()
          + "); install the PostgreSQL client tools or set SAVEPOINT_PG_BIN", e);
    }
  }

  /**
   * Runs {@code command} (stdin closed) to completion and returns its standard output; a non-zero exit becomes
   * a {@link RestoreException} saying what was being done and what the tool wrote to stderr.
   */
  public static String output(List<String> command, PostgresUrl url, String what) throws IOException {
    Process p = start(command, url);
    StderrCollector stderr = new StderrCollector(p);
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      int exit = p.waitFor();
      if (exit != 0) {
        throw new RestoreException(what + " failed: " + command.get(0) + " exited with " + exit + ": "
            + stderr.text());
      }
      return out;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new RestoreException("interrupted while " + what);
    }
  }

  /** As {@link #output}, for tools that print nothing worth keeping. */
  public static void run(List<String> command, PostgresUrl url, String what) throws IOException {
    output(command, url, what);
  }

  /** Reads a process's stderr on a daemon thread, keeping the last 16 KiB. */
  public static final class StderrCollector extends Thread {
    private final InputStream in;
    private final ByteArrayOutputStream tail = new ByteArrayOutputStream();

    public StderrCollector(Process process) {
      super("savepoint-stderr");
      this.in = process.getErrorStream();
      setDaemon(true);
      start();
    }

    @Override
    public void run() {
      byte[] buf = new byte[4096];
      try {
        int n;
        while ((n = in.read(buf)) > 0) {
          synchronized (tail) {
            tail.write(buf, 0, n);
            if (tail.size() > 32 * 1024) {
              byte[] keep = tail.toByteArray();
              tail.reset();
              tail.write(keep, keep.length - 16 * 1024, 16 * 1024);
            }
          }
        }
      } catch (IOException e) {
        // The process ended.
      }
    }

    /** What the process wrote to stderr, once it has exited. */
    public String text() {
      try {
        join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (tail) {
        return tail.toString(StandardCharsets.UTF_8).strip();
      }
    }
  }
}
