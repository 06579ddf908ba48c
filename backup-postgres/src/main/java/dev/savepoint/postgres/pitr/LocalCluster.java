package dev.savepoint.postgres.pitr;

import dev.savepoint.core.RestoreException;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.internal.PgTools;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Runs a PostgreSQL server on a restored data directory for a moment: on a free loopback port with its own
 * socket directory, as the {@code postgres} user when this process is root (PostgreSQL refuses root), until
 * recovery has promoted it; reports what it reached and stops it. For {@code restore --verify} and drills.
 *
 * <p>The configuration came from the backed-up cluster, so it is not trusted to run anything here: the server gets
 * a minimal environment (no passphrases, keys or cloud credentials of this process), a private pg_hba.conf (the
 * {@code postgres} role over loopback only), and command-line settings, which beat every configuration file, that
 * switch off each setting that runs a command or loads a library ({@link #NEUTRALISED}); the files stay as they were
 * for the operator, and each neutralised setting they hold is reported.
 */
public final class LocalCluster {
  /**
   * What a verified recovery reached; {@code neutralised} names each setting of the restored configuration that ran a
   * command or loaded a library and was switched off while Savepoint ran the server.
   */
  public record Recovered(@Nullable Instant lastReplayedCommit, Duration recoveryTime, String serverLogTail,
      List<String> neutralised) {}

  /**
   * Settings that run a command, load code or reach outside the data directory, with the value the server Savepoint
   * starts gets for each ({@code restore_command} is Savepoint's own, written last in postgresql.auto.conf).
   */
  static final java.util.Map<String, String> NEUTRALISED = neutralised();

  private static java.util.Map<String, String> neutralised() {
    java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
    m.put("archive_mode", "off");
    m.put("archive_command", "");
    m.put("archive_cleanup_command", "");
    m.put("recovery_end_command", "");
    m.put("ssl", "off");
    m.put("ssl_passphrase_command", "");
    m.put("shared_preload_libraries", "");
    m.put("local_preload_libraries", "");
    m.put("session_preload_libraries", "");
    m.put("jit", "off");
    m.put("external_pid_file", "");
    m.put("logging_collector", "off");
    m.put("primary_conninfo", "");
    m.put("primary_slot_name", "");
    return java.util.Collections.unmodifiableMap(m);
  }

  /** Settings of PostgreSQL 15 and later only: passing them to an older server would stop it from starting. */
  private static final java.util.Map<String, Integer> SINCE = java.util.Map.of("archive_library", 15);

  /**
   * The command-line settings for a server of {@code serverMajor}: every {@link #NEUTRALISED} one, archive_library
   * where it exists, and the private hba file.
   */
  static List<String> overrides(int serverMajor, Path hbaFile) {
    List<String> settings = new ArrayList<>();
    // The restore's own clean-up replaces whatever recovery_end_command the restored configuration holds.
    NEUTRALISED.forEach((name, value) -> settings.add(name + "=" + (name.equals("recovery_end_command")
        ? PointInTimeRestore.TIDY_COMMAND : value)));
    SINCE.forEach((name, major) -> {
      if (serverMajor >= major) {
        settings.add(name + "=");
      }
    });
    settings.add("hba_file=" + hbaFile);
    settings.add("ident_file=" + hbaFile.resolveSibling("pg_ident.conf"));
    return settings;
  }

  /**
   * The neutralised settings the restored configuration sets ({@code postgresql.conf}, {@code postgresql.auto.conf}),
   * and its include directives, each as "name (file)": what the operator is told was not run.
   */
  static List<String> neutralisedIn(Path dataDir) {
    List<String> found = new ArrayList<>();
    java.util.Set<String> names = new java.util.HashSet<>(NEUTRALISED.keySet());
    names.addAll(SINCE.keySet());
    names.add("restore_command");
    for (String file : List.of("postgresql.conf", "postgresql.auto.conf")) {
      List<String> lines;
      try {
        lines = Files.readAllLines(dataDir.resolve(file), java.nio.charset.StandardCharsets.UTF_8);
      } catch (IOException e) {
        continue;
      }
      boolean ours = false;
      for (String line : lines) {
        ours |= line.startsWith("# Written by savepoint");
        java.util.regex.Matcher m = SETTING.matcher(line);
        if (ours || !m.matches()) {
          continue;
        }
        String name = m.group(1).toLowerCase(java.util.Locale.ROOT);
        String value = m.group(2).strip();
        boolean empty = value.isEmpty() || value.equals("''") || value.equals("\"\"");
        if (name.startsWith("include")) {
          found.add(name + " " + value + " (" + file + "; read as written, but every setting above is overridden)");
        } else if (names.contains(name) && !empty && !(NEUTRALISED.containsKey(name)
            && NEUTRALISED.get(name).equals(value.replace("'", "")))) {
          found.add(name + " (" + file + ")");
        }
      }
    }
    return found;
  }

  private static final java.util.regex.Pattern SETTING =
      java.util.regex.Pattern.compile("^\\s*([A-Za-z_][A-Za-z0-9_.]*)\\s*(?:=\\s*|\\s+)([^#]*?)\\s*(?:#.*)?$");

  private LocalCluster() {}

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  /**
   * As root, makes the {@code postgres} user own {@code dir} (the server refuses to run on another's files); never
   * through a link: a link's own owner changes, never its target's.
   */
  static void giveToServerUser(Path dir) throws IOException {
    if (!root()) {
      return;
    }
    UserPrincipal postgres;
    try {
      postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
    } catch (IOException e) {
      return; // No postgres user: whoever starts the server must own the directory.
    }
    try (var files = Files.walk(dir)) {
      for (Path p : files.toList()) {
        Files.getFileAttributeView(p, java.nio.file.attribute.PosixFileAttributeView.class,
            java.nio.file.LinkOption.NOFOLLOW_LINKS).setOwner(postgres);
      }
    }
  }

  private static List<String> asServerUser(List<String> command) {
    List<String> cmd = new ArrayList<>();
    if (root()) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(command);
    return cmd;
  }

  /** A running server on a restored directory; closing it stops the server. */
  public static final class Running implements AutoCloseable {
    private final Path dataDir;
    private final String pgCtl;
    private final Path log;
    private final PostgresUrl url;

    private Running(Path dataDir, String pgCtl, Path log, PostgresUrl url) {
      this.dataDir = dataDir;
      this.pgCtl = pgCtl;
      this.log = log;
      this.url = url;
    }

    /** {@code postgresql://postgres@127.0.0.1:<port>/postgres}. */
    public PostgresUrl url() {
      return url;
    }

    @Override
    public void close() throws IOException {
      run(asServerUser(List.of(pgCtl, "-D", dataDir.toString(), "-m", "fast", "-w", "stop")), log);
    }
  }

  /**
   * Starts a server on {@code dataDir} and waits (up to {@code timeout}) until recovery has ended and it accepts
   * writes. Throws {@link RestoreException} with the server log's tail when recovery fails or takes too long.
   */
  public static Running startRecovered(Path dataDir, int serverMajor, Duration timeout) throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path socketDir = Files.createTempDirectory("savepoint-verify-");
    Path hba = Files.writeString(socketDir.resolve("pg_hba.conf"), "# savepoint: only this verification connects\n"
        + "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n");
    Files.writeString(socketDir.resolve("pg_ident.conf"), "");
    giveToServerUser(socketDir);
    Path log = socketDir.resolve("server.log");
    String pgCtl = PgTools.findExact("pg_ctl", serverMajor);
    StringBuilder options = new StringBuilder("-p " + port + " -k " + socketDir + " -c listen_addresses=127.0.0.1"
        + initialSync(serverMajor));
    for (String setting : overrides(serverMajor, hba)) {
      options.append(" -c ").append(quoteOption(setting));
    }
    run(asServerUser(List.of(pgCtl, "-D", dataDir.toString(), "-l", log.toString(), "-w", "-t",
        Long.toString(timeout.toSeconds()), "-o", options.toString(), "start")), log);
    Running running = new Running(dataDir, pgCtl, log, PostgresUrl.parse("postgresql://postgres@127.0.0.1:" + port + "/postgres"));
    Instant deadline = Instant.now().plus(timeout);
    while (true) {
      try (Connection c = running.url().connect(); Statement s = c.createStatement();
          ResultSet r = s.executeQuery("SELECT pg_is_in_recovery()")) {
        r.next();
        if (!r.getBoolean(1)) {
          return running;
        }
      } catch (SQLException stillStarting) {
        // Connections may be refused until recovery is consistent.
      }
      if (Instant.now().isAfter(deadline)) {
        String why = tail(log);
        try {
          running.close();
        } catch (IOException ignored) {
          // Reported below with the log.
        }
        throw new RestoreException("the restored cluster in " + dataDir + " did not finish recovery within " + timeout
            + ": " + why);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while waiting for recovery");
      }
    }
  }

  /** One {@code -c name=value} argument as pg_ctl's {@code -o} string hands it to the server's shell-like split. */
  static String quoteOption(String setting) {
    return "'" + setting.replace("'", "'\\''") + "'";
  }

  /**
   * Before it replays anything, a server started on a base backup makes the whole data directory durable: by
   * default one fsync per file, which took minutes for a cluster of tens of thousands of files (thousands of tables)
   * on a busy disk. On Linux, PostgreSQL 14 and later can do the same with one {@code syncfs} per file system.
   */
  static String initialSync(int serverMajor) {
    boolean linux = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux");
    return linux && serverMajor >= 14 ? " -c recovery_init_sync_method=syncfs" : "";
  }

  /** Starts, waits for promotion, reads the last replayed commit time, stops: {@code restore --verify}. */
  public static Recovered verifyRecovery(Path dataDir, int serverMajor, Duration timeout) throws IOException {
    Instant start = Instant.now();
    List<String> neutralised = neutralisedIn(dataDir);
    try (Running running = startRecovered(dataDir, serverMajor, timeout);
        Connection c = running.url().connect(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT pg_last_xact_replay_timestamp()")) {
      r.next();
      java.sql.Timestamp replayed = r.getTimestamp(1);
      return new Recovered(replayed == null ? null : replayed.toInstant(), Duration.between(start, Instant.now()),
          tail(running.log), neutralised);
    } catch (SQLException e) {
      throw new RestoreException("cannot query the restored cluster in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 8), lines.size()));
    } catch (IOException e) {
      return "(no server log)";
    }
  }

  /** Runs pg_ctl (and through it the server) with a minimal environment: nothing secret of this process reaches it. */
  private static void run(List<String> command, Path log) throws IOException {
    Process p = PgTools.processBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    try {
      if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new RestoreException(String.join(" ", command.subList(command.indexOf("-D") - 1, command.size()))
            + " failed: " + out.strip() + " " + tail(log));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted");
    }
  }
}
