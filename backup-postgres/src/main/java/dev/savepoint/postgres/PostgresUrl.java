package dev.savepoint.postgres;

import dev.savepoint.core.ConfigurationException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Where a PostgreSQL database is: {@code postgresql://user@host:port/db} (also {@code postgres://} and
 * {@code jdbc:postgresql://host:port/db?user=...}). The password is kept apart from the address: it comes
 * from the URL only if written there (discouraged), else from a supplier, else from {@code PGPASSWORD}, else
 * the tools and the driver read {@code ~/.pgpass}. It is handed to child processes through their
 * environment, never their command line, and {@link #toString()} never shows it.
 */
public final class PostgresUrl {
  private final String host;
  private final int port;
  private final String database;
  private final String user;
  private final Supplier<char[]> password;
  private final Map<String, String> options;

  /**
   * Connection options a URL may carry ({@code ?sslmode=verify-full&sslrootcert=/etc/ca.pem}), with their JDBC
   * property and libpq environment variable. Any other option is refused: a dropped {@code sslmode} would be a
   * silent TLS downgrade.
   */
  private record Option(String jdbc, String env) {}

  /** The option {@code name}: one {@link #parse} accepted. */
  private static Option option(String name) {
    return java.util.Objects.requireNonNull(OPTIONS.get(name), () -> "unknown option " + name);
  }

  private static final Map<String, Option> OPTIONS = Map.of(
      "sslmode", new Option("sslmode", "PGSSLMODE"),
      "sslrootcert", new Option("sslrootcert", "PGSSLROOTCERT"),
      "sslcert", new Option("sslcert", "PGSSLCERT"),
      "sslkey", new Option("sslkey", "PGSSLKEY"),
      "connect_timeout", new Option("connectTimeout", "PGCONNECT_TIMEOUT"),
      "application_name", new Option("ApplicationName", "PGAPPNAME"),
      "options", new Option("options", "PGOPTIONS"),
      "target_session_attrs", new Option("targetServerType", "PGTARGETSESSIONATTRS"));

  private static final java.util.Set<String> SSL_MODES =
      java.util.Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");

  private PostgresUrl(String host, int port, String database, String user, Supplier<char[]> password,
      Map<String, String> options) {
    this.host = host;
    this.port = port;
    this.database = database;
    this.user = user;
    this.password = password;
    this.options = Map.copyOf(options);
  }

  public static boolean isPostgresUrl(String s) {
    return s.startsWith("postgresql://") || s.startsWith("postgres://") || s.startsWith("jdbc:postgresql://");
  }

  /** Parses a URL; throws {@link ConfigurationException} (without echoing any password) if it is malformed. */
  public static PostgresUrl parse(String url) throws ConfigurationException {
    if (!isPostgresUrl(url)) {
      throw new ConfigurationException("not a PostgreSQL URL (expected postgresql://user@host:port/db)");
    }
    URI uri;
    try {
      uri = URI.create(url.replaceFirst("^(jdbc:)?postgres(ql)?://", "http://"));
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException("malformed PostgreSQL URL (expected postgresql://user@host:port/db)");
    }
    String authority = uri.getRawAuthority() == null ? "" : uri.getRawAuthority().replaceFirst("^.*@", "");
    java.util.regex.Matcher hostPort = java.util.regex.Pattern.compile("^(\\[.*]|[^:]*)(?::(.*))?$").matcher(authority);
    if (hostPort.matches() && hostPort.group(2) != null && !hostPort.group(2).isEmpty()
        && !(hostPort.group(2).matches("[0-9]{1,5}") && Integer.parseInt(hostPort.group(2)) >= 1
            && Integer.parseInt(hostPort.group(2)) <= 65535)) {
      // Not echoed: with a password holding '/', what looks like the port is part of the password.
      throw new ConfigurationException("PostgreSQL URL has a port that is not a number from 1 to 65535 (expected "
          + "postgresql://user@host:port/db; percent-encode '/', '@', ':' and '#' in a password: %2F, %40, %3A, %23)");
    }
    if (uri.getHost() == null) {
      throw new ConfigurationException("PostgreSQL URL lacks a host (expected postgresql://user@host:port/db)");
    }
    Map<String, String> query = new HashMap<>();
    if (uri.getRawQuery() != null) {
      for (String kv : uri.getRawQuery().split("&")) {
        String[] p = kv.split("=", 2);
        query.put(decode(p[0]), p.length > 1 ? decode(p[1]) : "");
      }
    }
    String user = query.getOrDefault("user", "postgres");
    String pw = query.get("password");
    if (uri.getRawUserInfo() != null) {
      String[] ui = uri.getRawUserInfo().split(":", 2);
      user = decode(ui[0]);
      if (ui.length > 1) {
        pw = decode(ui[1]);
      }
    }
    String db = uri.getPath() == null || uri.getPath().length() <= 1 ? user : decode(uri.getPath().substring(1));
    Map<String, String> options = new java.util.TreeMap<>();
    for (Map.Entry<String, String> e : query.entrySet()) {
      if (e.getKey().equals("user") || e.getKey().equals("password")) {
        continue;
      }
      if (!OPTIONS.containsKey(e.getKey())) {
        throw new ConfigurationException("unsupported PostgreSQL connection option '" + e.getKey() + "'; supported: "
            + String.join(", ", new java.util.TreeSet<>(OPTIONS.keySet())));
      }
      options.put(e.getKey(), e.getValue());
    }
    if (options.containsKey("sslmode") && !SSL_MODES.contains(options.get("sslmode"))) {
      throw new ConfigurationException("sslmode must be one of " + new java.util.TreeSet<>(SSL_MODES) + ", not '"
          + options.get("sslmode") + "'");
    }
    if (options.containsKey("target_session_attrs")) {
      targetServerType(options.get("target_session_attrs")); // validates
    }
    int port = uri.getPort() < 0 ? 5432 : uri.getPort();
    String fixed = pw;
    String host = uri.getHost();
    String finalUser = user;
    Supplier<char[]> password = fixed != null ? fixed::toCharArray
        : () -> environmentPassword(host, port, db, finalUser);
    return new PostgresUrl(host, port, db, user, password, options);
  }

  /** libpq's target_session_attrs as pgjdbc's targetServerType. */
  private static String targetServerType(String attrs) throws ConfigurationException {
    return switch (attrs) {
      case "any" -> "any";
      case "read-write", "primary" -> "primary";
      case "read-only", "standby" -> "secondary";
      case "prefer-standby" -> "preferSecondary";
      default -> throw new ConfigurationException("target_session_attrs must be any, read-write, read-only, primary, "
          + "standby or prefer-standby, not '" + attrs + "'");
    };
  }

  /** As libpq: PGPASSWORD, else the password file (PGPASSFILE, else $HOME/.pgpass), else none. */
  private static char @Nullable [] environmentPassword(String host, int port, String database, String user) {
    String env = System.getenv("PGPASSWORD");
    if (env != null) {
      return env.toCharArray();
    }
    return PgPass.lookup(host, port, database, user);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  /** The same server and credentials, another database. */
  public PostgresUrl withDatabase(String otherDatabase) {
    return new PostgresUrl(host, port, otherDatabase, user, password, options);
  }

  /** Uses {@code supplier} for the password (e.g. from a secret manager); it is called on each connect. */
  public PostgresUrl withPassword(Supplier<char[]> supplier) {
    return new PostgresUrl(host, port, database, user, Objects.requireNonNull(supplier), options);
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String database() {
    return database;
  }

  public String user() {
    return user;
  }

  /** Opens a JDBC connection. Errors name the server and database, never the password. */
  public Connection connect() throws SQLException {
    return connect(new Properties());
  }

  /**
   * Opens a physical replication connection (simple query mode) to the same server, with the same credentials
   * and connection options (TLS included) as {@link #connect()}; never with a socket timeout, which would end an
   * idle stream.
   */
  public Connection connectForReplication() throws SQLException {
    Properties replication = new Properties();
    replication.setProperty("replication", "true");
    replication.setProperty("preferQueryMode", "simple");
    replication.setProperty("assumeMinServerVersion", "12");
    return connect(replication);
  }

  /** Opens a JDBC connection with the URL's settings, then {@code extra}'s. */
  private Connection connect(Properties extra) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", user);
    char[] pw = password.get();
    if (pw != null) {
      props.setProperty("password", new String(pw));
    }
    props.setProperty("ApplicationName", "savepoint");
    props.setProperty("connectTimeout", "10");
    for (Map.Entry<String, String> e : options.entrySet()) {
      try {
        props.setProperty(option(e.getKey()).jdbc(),
            e.getKey().equals("target_session_attrs") ? targetServerType(e.getValue()) : e.getValue());
      } catch (ConfigurationException checkedAtParse) {
        throw new IllegalStateException(checkedAtParse);
      }
    }
    props.putAll(extra);
    // The name is URL-encoded: a database called "a/b" or "a%2Fb" must not change the URL's meaning.
    return DriverManager.getConnection("jdbc:postgresql://" + (host.contains(":") ? "[" + host + "]" : host) + ":"
        + port + "/" + java.net.URLEncoder.encode(database, StandardCharsets.UTF_8).replace("+", "%20"), props);
  }

  /** Environment for pg_dump/psql/pg_restore: connection settings and the password (never argv). */
  public Map<String, String> toolEnvironment() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PGHOST", host);
    env.put("PGPORT", Integer.toString(port));
    env.put("PGUSER", user);
    env.put("PGDATABASE", database);
    env.put("PGAPPNAME", "savepoint");
    env.put("PGCONNECT_TIMEOUT", "10");
    options.forEach((k, v) -> env.put(option(k).env(), v));
    char[] pw = password.get();
    if (pw != null) {
      env.put("PGPASSWORD", new String(pw));
    }
    return env;
  }

  @Override
  public String toString() {
    return "postgresql://" + user + "@" + host + ":" + port + "/" + database;
  }
}
