package dev.savepoint.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A throwaway PostgreSQL server for tests, shared by every test in the JVM and stopped at exit.
 *
 * <ol>
 *   <li>If {@code SAVEPOINT_TEST_POSTGRES_URL} is set ({@code postgresql://user[:password]@host:port}), that
 *       server is used; tests create and drop their own databases in it.
 *   <li>Otherwise a cluster is created with the machine's PostgreSQL binaries ({@code SAVEPOINT_PG_BIN}, or
 *       the newest {@code /usr/lib/postgresql/<major>/bin}) in a temporary directory on a free loopback port,
 *       with trust authentication. As root, the server runs as the {@code postgres} user (initdb refuses
 *       root).
 *   <li>Otherwise, if {@code org.testcontainers:postgresql} is on the test class path (it is an optional
 *       dependency of the test kit: add it) and a Docker engine runs, a {@code postgres:15} container,
 *       configured the same way.
 *   <li>Without any of these, tests are skipped, except when {@code CI=true}: then they fail, so CI never
 *       passes by skipping.
 * </ol>
 *
 * <p>Register with {@code @RegisterExtension static TestPostgres pg = TestPostgres.shared();}.
 */
public final class TestPostgres implements BeforeAllCallback, AutoCloseable {
  private static @Nullable TestPostgres shared;

  /** A role that a started cluster authenticates by password (scram-sha-256); see {@link #createPasswordUser}. */
  public static final String PASSWORD_USER = "password_user";

  private final String host;
  private final int port;
  private final String user;
  private final @Nullable String password;
  private final @Nullable Path binDir;
  private final @Nullable Path dataDir;
  /** Why no server could be started (null: there is one): the tests that use it are skipped, not errors. */
  private final @Nullable String unavailable;

  private TestPostgres(String host, int port, String user, @Nullable String password, @Nullable Path binDir,
      @Nullable Path dataDir) {
    this(host, port, user, password, binDir, dataDir, null);
  }

  private TestPostgres(String host, int port, String user, @Nullable String password, @Nullable Path binDir,
      @Nullable Path dataDir, @Nullable String unavailable) {
    this.unavailable = unavailable;
    this.host = host;
    this.port = port;
    this.user = user;
    this.password = password;
    this.binDir = binDir;
    this.dataDir = dataDir;
  }

  /**
   * The JVM-wide server, started on first use. Registered as an extension ({@code @RegisterExtension static
   * TestPostgres pg = TestPostgres.shared();}), a machine with no PostgreSQL binaries and no Docker skips the class
   * (with {@code CI=true} it fails instead): the field is initialised either way, and {@link #beforeAll} says why.
   */
  public static synchronized TestPostgres shared() {
    if (shared == null) {
      try {
        shared = start();
      } catch (org.opentest4j.TestAbortedException none) {
        shared = unavailable(String.valueOf(none.getMessage()));
      } catch (IOException | InterruptedException e) {
        throw new IllegalStateException("cannot start a throwaway PostgreSQL: " + e.getMessage(), e);
      }
    }
    return shared;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    requireAvailable(); // construction started the server; without one the class is skipped here
  }

  /** The handle {@link #shared} gives where no server can start: every use aborts (skips) with {@code why}. */
  static TestPostgres unavailable(String why) {
    return new TestPostgres("unavailable", -1, "unavailable", null, null, null, why);
  }

  private void requireAvailable() {
    if (unavailable != null) {
      Assumptions.abort(unavailable);
    }
  }

  /**
   * A cluster of its own, from the machine's binaries, with these server settings ({@code name=value}, e.g.
   * {@code archive_mode=on}) — for tests that change what the shared server must not (archiving, restarts).
   * {@link #close} stops and deletes it.
   */
  public static TestPostgres dedicated(String... settings) throws IOException, InterruptedException {
    Optional<Path> bin = findBinDir();
    if (bin.isEmpty()) {
      String why = "a dedicated cluster needs PostgreSQL server binaries (set SAVEPOINT_PG_BIN or install postgresql)";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + "; CI=true, so this is a failure, not a skip");
      }
      Assumptions.abort(why);
    }
    return startLocal(bin.get(), List.of(settings));
  }

  /**
   * A cluster of its own from the server binaries in {@code binDir} (initdb, pg_ctl, postgres: e.g. another major's
   * release unpacked), with these server settings; {@link #close} stops and deletes it.
   */
  public static TestPostgres dedicated(Path binDir, String... settings) throws IOException, InterruptedException {
    return startLocal(binDir, List.of(settings));
  }

  /** Stops and deletes a {@link #dedicated} cluster; the shared one stops at JVM exit. */
  @Override
  public void close() {
    if (this != shared) {
      stop("root".equals(System.getProperty("user.name")));
    }
  }

  /** The data directory of a cluster this kit started (null for an external or container server). */
  public @Nullable Path dataDirectory() {
    return dataDir == null ? null : dataDir.resolve("data");
  }

  private static TestPostgres start() throws IOException, InterruptedException {
    String env = System.getenv("SAVEPOINT_TEST_POSTGRES_URL");
    if (env != null && !env.isBlank()) {
      java.net.URI uri = java.net.URI.create(env.replaceFirst("^postgres(ql)?:", "http:"));
      String[] userInfo = uri.getUserInfo() == null ? new String[] {"postgres"} : uri.getUserInfo().split(":", 2);
      return new TestPostgres(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), userInfo[0],
          userInfo.length > 1 ? userInfo[1] : null, findBinDir().orElse(null), null);
    }
    Optional<Path> bin = findBinDir();
    if (bin.isEmpty() && ContainerPostgres.available()) {
      java.net.InetSocketAddress server = ContainerPostgres.start();
      return new TestPostgres(server.getHostString(), server.getPort(), "postgres", null, null, null);
    }
    if (bin.isEmpty()) {
      String why = "no PostgreSQL server binaries (set SAVEPOINT_PG_BIN or install the postgresql package), "
          + "and no Docker engine for Testcontainers";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new IllegalStateException(why + "; CI=true, so this is a failure, not a skip");
      }
      Assumptions.abort(why);
    }
    TestPostgres pg = startLocal(bin.get(), List.of());
    Runtime.getRuntime().addShutdownHook(new Thread(() -> pg.stop("root".equals(System.getProperty("user.name")))));
    return pg;
  }

  private static TestPostgres startLocal(Path binDir, List<String> settings) throws IOException, InterruptedException {
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir = Files.createTempDirectory("savepoint-pg-");
    exec(List.of("chmod", "700", dir.toString()));
    if (root) {
      exec(List.of("chown", "postgres:postgres", dir.toString()));
    }
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path data = dir.resolve("data");
    exec(asServer(root, List.of(binDir.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres",
        "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")));
    // Everyone is trusted except the role "password_user", which must give its password: for tests of
    // authentication failures.
    Path hba = data.resolve("pg_hba.conf");
    String rules = "host all " + PASSWORD_USER + " 127.0.0.1/32 scram-sha-256\n" + Files.readString(hba);
    exec(asServer(root, List.of("sh", "-c", "printf '%s' \"$0\" > " + hba, rules)));
    String preload = Files.exists(libDir(binDir).resolve(LABEL_PROVIDER_LIBRARY + ".so"))
        ? " -c shared_preload_libraries=" + LABEL_PROVIDER_LIBRARY : "";
    exec(asServer(root, List.of(binDir.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
        dir.resolve("server.log").toString(), "-w", "-t", "60", "-o",
        "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" + preload
            + settings.stream().map(setting -> " -c " + setting).collect(java.util.stream.Collectors.joining()),
        "start")));
    return new TestPostgres("127.0.0.1", port, "postgres", null, binDir, dir);
  }

  /**
   * The test kit's security label provider ({@code backup-testkit/src/main/c}, built and installed into the
   * server's library directory by {@code scripts/setup.sh}), preloaded when installed: PostgreSQL records
   * security labels only through a loaded provider.
   */
  public static final String LABEL_PROVIDER_LIBRARY = "savepoint_test_seclabel";
  public static final String LABEL_PROVIDER = "savepoint_test";

  /** Whether the server has the test label provider loaded; fails under CI=true, else skips, when it has not. */
  public void requireLabelProvider() throws SQLException {
    if (String.valueOf(single("postgres", "SHOW shared_preload_libraries")).contains(LABEL_PROVIDER_LIBRARY)) {
      return;
    }
    String why = "the server has not loaded the test label provider " + LABEL_PROVIDER_LIBRARY
        + " (run scripts/setup.sh, which builds and installs it)";
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new IllegalStateException(why + "; CI=true, so this is a failure, not a skip");
    }
    Assumptions.abort(why);
  }

  private static Path libDir(Path bin) {
    try {
      Process p = new ProcessBuilder(bin.resolve("pg_config").toString(), "--pkglibdir").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).strip();
      if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) {
        return Path.of(out);
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      // fall back to the Debian layout
    }
    return bin.resolveSibling("lib");
  }

  /** Stops and deletes a cluster this kit started (not an external or container server: nothing to do there). */
  private void stop(boolean root) {
    Path binDir = this.binDir;
    Path dataDir = this.dataDir;
    if (binDir == null || dataDir == null) {
      return;
    }
    try {
      exec(asServer(root, List.of(binDir.resolve("pg_ctl").toString(), "-D", dataDir.resolve("data").toString(),
          "-m", "immediate", "-w", "stop")));
    } catch (IOException | InterruptedException | RuntimeException e) {
      // Best effort at JVM exit.
    }
    try (Stream<Path> walk = Files.walk(dataDir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort.
    }
  }

  private static List<String> asServer(boolean root, List<String> command) {
    if (!root) {
      return command;
    }
    List<String> c = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
    c.addAll(command);
    return c;
  }

  private static void exec(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
  }

  /** {@code SAVEPOINT_PG_BIN}, else the newest {@code /usr/lib/postgresql/<major>/bin} with initdb. */
  public static Optional<Path> findBinDir() {
    String env = System.getenv("SAVEPOINT_PG_BIN");
    if (env != null && !env.isBlank()) {
      return Optional.of(Path.of(env));
    }
    Path base = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(base)) {
      return Optional.empty();
    }
    try (Stream<Path> majors = Files.list(base)) {
      return majors.filter(p -> Files.isExecutable(p.resolve("bin").resolve("initdb")))
          .max(Comparator.comparingInt(p -> parseMajor(String.valueOf(p.getFileName())))).map(p -> p.resolve("bin"));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static int parseMajor(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  public String host() {
    requireAvailable();
    return host;
  }

  public int port() {
    requireAvailable();
    return port;
  }

  public Optional<Path> binDir() {
    return Optional.ofNullable(binDir);
  }

  /** {@code postgresql://user@host:port/<database>} (password, if any, only through {@link #password()}). */
  public String url(String database) {
    requireAvailable();
    return "postgresql://" + user + "@" + host + ":" + port + "/" + database;
  }

  public Optional<String> password() {
    return Optional.ofNullable(password);
  }

  public Connection connect(String database) throws SQLException {
    requireAvailable();
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database, user,
        password == null ? "" : password);
  }

  /** Creates a fresh, empty database with a unique name built from {@code hint}; returns its name. */
  public String createDatabase(String hint) throws SQLException {
    String name = (hint.toLowerCase().replaceAll("[^a-z0-9_]", "_") + "_" + Long.toHexString(System.nanoTime()))
        .replaceAll("^([^a-z_])", "_$1");
    try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE \"" + name + "\" TEMPLATE template0 ENCODING 'UTF8'");
    }
    return name;
  }

  public boolean databaseExists(String name) throws SQLException {
    try (Connection c = connect("postgres");
        var ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
      ps.setString(1, name);
      return ps.executeQuery().next();
    }
  }

  /** Creates (or resets) {@link #PASSWORD_USER} with {@code password}; returns its URL without password. */
  public String createPasswordUser(String password) throws SQLException {
    ensureRole(PASSWORD_USER);
    execute("postgres", "ALTER ROLE " + PASSWORD_USER + " PASSWORD '" + password.replace("'", "''") + "'");
    return "postgresql://" + PASSWORD_USER + "@" + host + ":" + port + "/postgres";
  }

  /** Creates the login role {@code name} (a plain identifier) unless the server has it; roles are server-wide. */
  public void ensureRole(String name) throws SQLException {
    execute("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + name
        + "') THEN CREATE ROLE " + name + " LOGIN; END IF; END $$");
  }

  /** Runs {@code statements} in {@code database}, in order, on one connection. */
  public void execute(String database, String... statements) throws SQLException {
    try (Connection c = connect(database); Statement s = c.createStatement()) {
      for (String statement : statements) {
        s.execute(statement);
      }
    }
  }

  /** The first column of the first row of {@code query} in {@code database}, as text (null without a row). */
  public @Nullable String single(String database, String query) throws SQLException {
    try (Connection c = connect(database)) {
      return single(c, query);
    }
  }

  /** The first column of the first row of {@code query} on {@code connection}, as text (null without a row). */
  public static @Nullable String single(Connection connection, String query) throws SQLException {
    try (Statement s = connection.createStatement(); java.sql.ResultSet r = s.executeQuery(query)) {
      return r.next() ? r.getString(1) : null;
    }
  }

  public void dropDatabase(String name) throws SQLException {
    try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
    }
  }
}
