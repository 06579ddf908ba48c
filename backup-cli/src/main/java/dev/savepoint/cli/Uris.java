package dev.savepoint.cli;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Source;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.sources.BucketTarget;
import dev.savepoint.core.sources.DirectorySource;
import dev.savepoint.core.sources.DirectoryTarget;
import dev.savepoint.core.sources.EnvironmentSource;
import dev.savepoint.core.sources.FilesTarget;
import dev.savepoint.core.sources.StreamSource;
import dev.savepoint.core.sources.StreamTarget;
import dev.savepoint.core.store.Stores;
import dev.savepoint.gcs.GcsStore;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresTarget;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.providers.ManagedPitr;
import dev.savepoint.providers.NeonPitr;
import dev.savepoint.providers.SupabasePitr;
import dev.savepoint.s3.S3Store;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/** Turns the CLI's URIs into repositories, sources and targets. */
final class Uris {
  private Uris() {}

  static Repository repository(String uri) throws IOException {
    if (uri.startsWith("file:")) {
      return new Repository(Stores.filesystem(path(uri)));
    }
    if (uri.startsWith("s3://")) {
      return new Repository(Stores.standard(S3Store.fromUri(uri)));
    }
    if (uri.startsWith("gs://")) {
      return new Repository(Stores.standard(GcsStore.fromUri(uri)));
    }
    throw new ConfigurationException("unsupported repository URI '" + uri
        + "'; use file:/path, s3://bucket/prefix or gs://bucket/prefix");
  }

  static Source source(String uri) throws IOException {
    return source(uri, null, null, false);
  }

  /**
   * As {@link #source(String)}; a PostgreSQL source uses {@code format} (null: parallel where it applies) and, if
   * given, {@code jobs}.
   */
  static Source source(String uri, PostgresSource.Format format, Integer jobs, boolean globals) throws IOException {
    if (uri.equals("-")) {
      return StreamSource.stdin("stdin");
    }
    if (uri.startsWith("file:")) {
      Path p = path(uri);
      if (Files.isDirectory(p)) {
        return new DirectorySource(p);
      }
      if (!Files.exists(p)) {
        throw new ConfigurationException("source " + p + " does not exist");
      }
      return StreamSource.file(p);
    }
    if (PostgresUrl.isPostgresUrl(uri)) {
      PostgresSource.Builder pg = PostgresSource.builder(PostgresUrl.parse(uri)).format(format);
      if (jobs != null) {
        pg.jobs(jobs);
      }
      if (globals) {
        pg.withGlobals();
      }
      return pg.build();
    }
    if (globals) {
      throw new IllegalArgumentException("--globals is for PostgreSQL sources");
    }
    if (uri.startsWith("s3://")) {
      return BucketSource.of(S3Store.fromUri(uri));
    }
    if (uri.startsWith("gs://")) {
      return BucketSource.of(GcsStore.fromUri(uri));
    }
    if (uri.startsWith("env:")) {
      return EnvironmentSource.environment(java.util.List.of(uri.substring(4).split(",")));
    }
    throw new ConfigurationException("unsupported source URI '" + redact(uri)
        + "'; use file:/path, postgresql://user@host:port/db, s3://bucket/prefix or gs://bucket/prefix (uploads), env:NAME,PREFIX_* or - for standard input");
  }

  /**
   * The restore target for {@code uri}. A PostgreSQL target that is not empty, and the objects a bucket restore
   * replaces or deletes, get a safety backup into {@code repository} under {@code safetyPlan} first.
   */
  static RestoreTarget target(String uri, Manifest manifest, boolean replace, Repository repository,
      String safetyPlan, FilesTarget.UnsafeKeys unsafeKeys, java.util.function.Consumer<PostgresTarget.Builder> postgres) throws IOException {
    if (uri.equals("-")) {
      return StreamTarget.stream(System.out);
    }
    if (manifest.source().type().equals(BucketSource.TYPE)) {
      // As of the backup: what it does not hold is deleted, and what is replaced or deleted is kept in a safety backup.
      if (uri.startsWith("s3://")) {
        return new BucketTarget(S3Store.fromUri(uri)).asOfBackup(repository, safetyPlan);
      }
      if (uri.startsWith("gs://")) {
        return new BucketTarget(GcsStore.fromUri(uri)).asOfBackup(repository, safetyPlan);
      }
      if (uri.startsWith("file:")) {
        FilesTarget t = new FilesTarget(path(uri), BucketSource.ARTIFACT_PREFIX, unsafeKeys);
        return replace ? t.replacingExisting() : t;
      }
    }
    if (uri.startsWith("envfile:")) {
      return new dev.savepoint.core.sources.EnvironmentFileTarget(path("file:" + uri.substring("envfile:".length())));
    }
    if (uri.startsWith("file:")) {
      Path p = path(uri);
      if (manifest.source().type().equals("directory")) {
        DirectoryTarget t = DirectoryTarget.of(p);
        return replace ? t.replacingExisting() : t;
      }
      if (manifest.artifacts().size() > 1) {
        // E.g. a parallel-format database backup: every artifact, decoded and verified, as files to load by hand.
        FilesTarget t = new FilesTarget(p, "");
        return replace ? t.replacingExisting() : t;
      }
      StreamTarget t = StreamTarget.file(p);
      return replace ? t.replacingExisting() : t;
    }
    if (PostgresUrl.isPostgresUrl(uri)) {
      PostgresTarget.Builder pg = PostgresTarget.builder(PostgresUrl.parse(uri)).safetyBackup(repository, safetyPlan);
      postgres.accept(pg);
      return pg.build();
    }
    throw new ConfigurationException("unsupported restore target '" + redact(uri)
        + "'; use file:/path, postgresql://user@host:port/db, s3:// or gs:// (bucket backups) or - for standard output");
  }

  static boolean isProvider(String uri) {
    return uri.startsWith("neon://") || uri.startsWith("supabase://");
  }

  /**
   * A managed database restored through its provider's point-in-time recovery:
   * {@code neon://<project>/<branch>?tokenEnv=NEON_API_KEY[&preserveUnderName=…][&sourceBranch=…]} or
   * {@code supabase://<project-ref>?tokenEnv=SUPABASE_ACCESS_TOKEN}; {@code tokenFile=/path} instead of
   * {@code tokenEnv}, {@code api=<base URL>} for another endpoint, {@code pollEvery=PT5S} how often to ask whether
   * the restore has finished. The token itself never goes into the URI.
   */
  static ManagedPitr provider(String uri) throws ConfigurationException {
    URI u;
    try {
      u = new URI(uri);
    } catch (java.net.URISyntaxException e) {
      throw new ConfigurationException("not a provider URI: " + redact(uri));
    }
    java.util.Map<String, String> query = new java.util.HashMap<>();
    if (u.getRawQuery() != null) {
      for (String pair : u.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        query.put(eq < 0 ? pair : pair.substring(0, eq), eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1),
            java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    if (query.containsKey("token")) {
      throw new ConfigurationException("a provider URI names where its token is (tokenEnv=VAR or tokenFile=/path), "
          + "it never holds the token");
    }
    java.util.Set<String> known = java.util.Set.of("tokenEnv", "tokenFile", "api", "pollEvery", "preserveUnderName",
        "sourceBranch");
    for (String key : query.keySet()) {
      if (!known.contains(key)) {
        throw new ConfigurationException("unknown option '" + key + "' in " + redact(uri) + "; known: " + known);
      }
    }
    boolean neon = u.getScheme().equals("neon");
    String secret = neon ? NeonPitr.TOKEN : SupabasePitr.TOKEN;
    Secrets token;
    if (query.containsKey("tokenFile")) {
      Path file = Path.of(query.get("tokenFile"));
      token = name -> {
        try {
          return java.util.Optional.of(Files.readString(file).strip().toCharArray());
        } catch (IOException e) {
          throw new java.io.UncheckedIOException("cannot read the provider token file " + file, e);
        }
      };
    } else {
      String variable = query.getOrDefault("tokenEnv", neon ? "NEON_API_KEY" : "SUPABASE_ACCESS_TOKEN");
      String value = System.getenv(variable);
      if (value == null || value.isEmpty()) {
        throw new ConfigurationException("environment variable " + variable + " (the " + (neon ? "Neon API key"
            : "Supabase access token") + ") is not set or empty; name another with tokenEnv= or use tokenFile=");
      }
      token = Secrets.fromEnvironment(java.util.Map.of(secret, variable));
    }
    String path = u.getPath() == null ? "" : u.getPath().replaceFirst("^/", "");
    try {
      if (neon) {
        if (path.isEmpty() || path.contains("/")) {
          throw new ConfigurationException("a Neon URI is neon://<project-id>/<branch-id>, not " + redact(uri));
        }
        NeonPitr.Builder b = NeonPitr.builder(u.getHost(), path).token(token);
        if (query.containsKey("api")) {
          b.api(URI.create(query.get("api")));
        }
        if (query.containsKey("pollEvery")) {
          b.pollEvery(pollEvery(query.get("pollEvery")));
        }
        if (query.containsKey("sourceBranch")) {
          b.sourceBranch(query.get("sourceBranch"));
        }
        return b.preserveUnderName(query.get("preserveUnderName")).build();
      }
      if (!path.isEmpty() || query.containsKey("sourceBranch") || query.containsKey("preserveUnderName")) {
        throw new ConfigurationException("a Supabase URI is supabase://<project-ref>, not " + redact(uri));
      }
      SupabasePitr.Builder b = SupabasePitr.builder(u.getHost()).token(token);
      if (query.containsKey("api")) {
        b.api(URI.create(query.get("api")));
      }
      if (query.containsKey("pollEvery")) {
        b.pollEvery(pollEvery(query.get("pollEvery")));
      }
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(e.getMessage() + " in " + redact(uri));
    }
  }

  private static java.time.Duration pollEvery(String value) throws ConfigurationException {
    try {
      return java.time.Duration.parse(value);
    } catch (java.time.format.DateTimeParseException e) {
      throw new ConfigurationException("pollEvery must be an ISO-8601 duration such as PT5S, not '" + value + "'");
    }
  }

  static Path path(String fileUri) throws ConfigurationException {
    String rest = fileUri.substring("file:".length());
    if (rest.startsWith("//")) {
      rest = rest.substring(2);
    }
    if (rest.isEmpty()) {
      throw new ConfigurationException("empty path in '" + fileUri + "'");
    }
    return Path.of(rest).toAbsolutePath().normalize();
  }

  /** The PostgreSQL dump format named {@code name} (plain, custom or parallel). */
  /** The format named {@code name}; null for {@code auto} (parallel where it applies, else plain). */
  static PostgresSource.Format pgFormat(String name) throws ConfigurationException {
    if (name.equalsIgnoreCase("auto")) {
      return null;
    }
    try {
      return PostgresSource.Format.valueOf(name.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException("unknown PostgreSQL format '" + name + "'; use auto, parallel, plain or custom");
    }
  }

  /** Hides a password in a URI before it goes into a message. */
  static String redact(String uri) {
    return dev.savepoint.core.security.Redaction.uri(uri);
  }
}
