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

/**
 * Runs a PostgreSQL server on a restored data directory for a moment: on a free loopback port with its own
 * socket directory, as the {@code postgres} user when this process is root (PostgreSQL refuses root), until
 * recovery has promoted it; reports what it reached and stops it. For {@code restore --verify} and drills.
 */
public final class LocalCluster {
  /** What a verified recovery reached. */
  public record Recovered(Instant lastReplayedCommit, Duration recoveryTime, String serverLogTail) {}

  private LocalCluster() {}

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  /** As root, makes the {@code postgres} user own {@code dir} (the server refuses to run on another's files). */
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
        Files.setOwner(p, postgres);
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
    giveToServerUser(socketDir);
    Path log = socketDir.resolve("server.log");
    String pgCtl = PgTools.find("pg_ctl", serverMajor);
    run(asServerUser(List.of(pgCtl, "-D", dataDir.toString(), "-l", log.toString(), "-w", "-t",
        Long.toString(timeout.toSeconds()), "-o", "-p " + port + " -k " + socketDir + " -c listen_addresses=127.0.0.1"
            + initialSync(serverMajor), "start")), log);
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
    try (Running running = startRecovered(dataDir, serverMajor, timeout);
        Connection c = running.url().connect(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT pg_last_xact_replay_timestamp()")) {
      r.next();
      java.sql.Timestamp replayed = r.getTimestamp(1);
      return new Recovered(replayed == null ? null : replayed.toInstant(), Duration.between(start, Instant.now()),
          tail(running.log));
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

  private static void run(List<String> command, Path log) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
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
