package dev.savepoint.postgres;

import dev.savepoint.core.Manifest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a {@link PostgresSource} backup recorded about the database, typed: read from a manifest's source facts
 * (the manifest's JSON stays as it is). Fields a backup predates are empty.
 *
 * <pre>{@code
 * PostgresFacts facts = PostgresFacts.of(manifest);
 * long users = facts.rowCounts().get("\"public\".\"users\"");
 * }</pre>
 *
 * @param database the backed-up database's name
 * @param serverVersion the server's version, e.g. {@code 15.18}
 * @param format {@code plain}, {@code custom} or {@code parallel}
 * @param role the role the backup read as
 * @param rowCounts rows per table (quoted {@code "schema"."table"}), each relation's own rows
 * @param namedTables for a tier backup, each name the plan gave and the tables it resolved to
 * @param databaseProperties the database's own properties (owner, locale, settings, …)
 */
public record PostgresFacts(String database, String serverVersion, String format, Optional<String> role,
    Map<String, Long> rowCounts, Map<String, List<String>> namedTables,
    Optional<DatabaseProperties> databaseProperties) {

  /** The facts of a PostgreSQL backup; {@link IllegalArgumentException} for a backup of another kind. */
  public static PostgresFacts of(Manifest manifest) {
    if (!manifest.source().type().equals("postgresql")) {
      throw new IllegalArgumentException("backup " + manifest.id() + " is a '" + manifest.source().type()
          + "' backup, not a PostgreSQL one");
    }
    Map<String, Object> facts = manifest.source().facts();
    Map<String, Long> counts = new LinkedHashMap<>();
    if (facts.get("tableRowCounts") instanceof Map<?, ?> recorded) {
      recorded.forEach((k, v) -> counts.put(String.valueOf(k), ((Number) v).longValue()));
    }
    Map<String, List<String>> named = new LinkedHashMap<>();
    if (facts.get("namedTables") instanceof Map<?, ?> recorded) {
      recorded.forEach((k, v) -> named.put(String.valueOf(k), ((List<?>) v).stream().map(String::valueOf).toList()));
    }
    return new PostgresFacts(String.valueOf(facts.get("database")), String.valueOf(facts.get("serverVersion")),
        String.valueOf(facts.getOrDefault("format", "plain")), Optional.ofNullable(facts.get("role")).map(String::valueOf),
        java.util.Collections.unmodifiableMap(counts), java.util.Collections.unmodifiableMap(named),
        Optional.ofNullable(DatabaseProperties.of(manifest)));
  }

  /** Whether the backup holds only some tables (a tier). */
  public boolean isTier() {
    return !namedTables.isEmpty();
  }
}
