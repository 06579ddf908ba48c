package dev.savepoint.postgres;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.internal.ManifestCodec;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The properties of the database itself, which its rows do not carry: owner, encoding, locale provider,
 * collation and ctype, ICU locale and rules, collation version, connection limit, whether connections are
 * allowed and whether it is a template, default tablespace, ACL, comment, database-level settings (also per
 * role in the database), security labels on the database, the label providers its labels need (the labels of
 * its objects travel in the dump itself), and the roles its objects belong to or are granted to. Recorded in the manifest at
 * backup time ({@code databaseProperties}); a restore creates the database with them, so the application that
 * reconnects finds the database it had — same sort order, same {@code search_path}, same privileges.
 *
 * <p>{@code orderingSample} is how the database's default collation sorted a fixed set of strings, compared
 * after a restore so that a different collation library shows up.
 */
public record DatabaseProperties(String owner, String encoding, String localeProvider, String collate,
    String ctype, @Nullable String icuLocale, @Nullable String icuRules, @Nullable String collationVersion,
    int connectionLimit, boolean allowConnections, boolean isTemplate, String tablespace, List<String> acl,
    @Nullable String comment, List<Setting> settings, List<String> roles, @Nullable String orderingSample, Map<String, String> securityLabels, List<String> labelProviders) {

  /** A database-level setting; {@code role} is null when it applies to every role. */
  public record Setting(@Nullable String role, String name, @Nullable String value) {}

  public DatabaseProperties {
    acl = acl == null ? List.of() : List.copyOf(acl);
    settings = settings == null ? List.of() : List.copyOf(settings);
    roles = roles == null ? List.of() : List.copyOf(roles);
    securityLabels = securityLabels == null ? Map.of() : Map.copyOf(new java.util.TreeMap<>(securityLabels));
    labelProviders = labelProviders == null ? List.of() : List.copyOf(labelProviders);
  }

  /** What the restore may change: another owner, or another libc locale (both recorded in the report). */
  public record Overrides(@Nullable String owner, @Nullable String locale) {
    public static final Overrides NONE = new Overrides(null, null);
  }

  private static final List<String> ASCII_SAMPLE = List.of("a", "B", "b", "_x", "Z", "a b", "ab", "A1", "a-c", "10", "9");
  private static final List<String> JAPANESE_SAMPLE = List.of("abc", "ＡＢＣ", "あおい", "カイト", "さくら");

  /**
   * The artifact that holds the values of the database-level settings: values such as {@code app.jwt_secret} (as
   * PostgREST keeps it) are secrets, so they travel protected like the data (encrypted when the plan encrypts); the
   * manifest, which is not encrypted, names the settings only.
   */
  public static final String SETTINGS_ARTIFACT = "database-settings.json";

  /**
   * The properties recorded in {@code manifest}, or null for backups made before they were recorded. The values of
   * database-level settings are not in the manifest (null here): {@link #of(ArtifactReader)} reads them.
   */
  public static @Nullable DatabaseProperties of(Manifest manifest) {
    Object recorded = manifest.source().facts().get("databaseProperties");
    return recorded == null ? null : ManifestCodec.JSON.convertValue(recorded, DatabaseProperties.class);
  }

  /** The properties of the backup {@code artifacts} reads, the settings' values included (from their artifact). */
  public static @Nullable DatabaseProperties of(dev.savepoint.core.ArtifactReader artifacts) throws java.io.IOException {
    DatabaseProperties recorded = of(artifacts.manifest());
    if (recorded == null || artifacts.manifest().artifact(SETTINGS_ARTIFACT).isEmpty()) {
      return recorded; // none recorded, or a backup from before the values moved out of the manifest
    }
    List<Setting> settings;
    try (java.io.InputStream in = artifacts.open(SETTINGS_ARTIFACT)) {
      settings = ManifestCodec.JSON.readValue(in.readAllBytes(), new com.fasterxml.jackson.core.type.TypeReference<>() {});
    }
    List<String> named = recorded.settings().stream().map(s -> s.role() + "/" + s.name()).toList();
    if (!named.equals(settings.stream().map(s -> s.role() + "/" + s.name()).toList())) {
      throw new dev.savepoint.core.IntegrityException("backup " + artifacts.manifest().id() + ": the database "
          + "settings in " + SETTINGS_ARTIFACT + " are not those its manifest names");
    }
    return recorded.withSettings(settings);
  }

  private DatabaseProperties withSettings(List<Setting> values) {
    return new DatabaseProperties(owner, encoding, localeProvider, collate, ctype, icuLocale, icuRules,
        collationVersion, connectionLimit, allowConnections, isTemplate, tablespace, acl, comment, values, roles,
        orderingSample, securityLabels, labelProviders);
  }

  /** These properties as manifest facts (JSON-compatible maps and lists), the settings named without their values. */
  Map<String, Object> toFacts() {
    DatabaseProperties named = withSettings(settings.stream().map(s -> new Setting(s.role(), s.name(), null)).toList());
    return ManifestCodec.JSON.convertValue(named, new com.fasterxml.jackson.core.type.TypeReference<>() {});
  }

  /** The settings with their values, for {@link #SETTINGS_ARTIFACT}. */
  byte[] settingsDocument() throws java.io.IOException {
    return ManifestCodec.JSON.writeValueAsBytes(settings);
  }

  /** Reads the properties of the database {@code c} is connected to. */
  static DatabaseProperties read(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
        SELECT r.rolname, pg_encoding_to_char(d.encoding), to_jsonb(d) ->> 'datlocprovider', d.datcollate, d.datctype,
          coalesce(to_jsonb(d) ->> 'daticulocale', to_jsonb(d) ->> 'datlocale'), to_jsonb(d) ->> 'daticurules',
          to_jsonb(d) ->> 'datcollversion', d.datconnlimit, d.datallowconn, d.datistemplate, t.spcname,
          d.datacl::text[], shobj_description(d.oid, 'pg_database')
        FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba JOIN pg_tablespace t ON t.oid = d.dattablespace
        WHERE d.datname = current_database()""")) {
      r.next();
      String encoding = r.getString(2);
      String provider = r.getString(3) == null ? "c" : r.getString(3);
      Array acl = r.getArray(13);
      String collate = r.getString(4);
      boolean plainCollation = provider.equals("c") && (collate.equals("C") || collate.equals("POSIX"));
      return new DatabaseProperties(r.getString(1), encoding, provider, collate, r.getString(5), r.getString(6),
          r.getString(7), r.getString(8), r.getInt(9), r.getBoolean(10), r.getBoolean(11), r.getString(12),
          acl == null ? List.of() : List.of((String[]) acl.getArray()), r.getString(14), settings(c), roles(c),
          plainCollation ? null : orderingSample(c, encoding), securityLabels(c), labelProviders(c));
    }
  }

  private static Map<String, String> securityLabels(Connection c) throws SQLException {
    Map<String, String> result = new java.util.TreeMap<>();
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
        SELECT l.provider, l.label FROM pg_shseclabel l JOIN pg_database d ON d.oid = l.objoid
        WHERE l.classoid = 'pg_database'::regclass AND d.datname = current_database()""")) {
      while (r.next()) {
        result.put(r.getString(1), r.getString(2));
      }
    }
    return result;
  }

  /** Label providers the restore needs loaded: those of the database's labels and of its objects' labels. */
  private static List<String> labelProviders(Connection c) throws SQLException {
    List<String> result = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
        SELECT provider FROM pg_seclabel
        UNION SELECT l.provider FROM pg_shseclabel l JOIN pg_database d ON d.oid = l.objoid
          WHERE l.classoid = 'pg_database'::regclass AND d.datname = current_database()
        ORDER BY 1""")) {
      while (r.next()) {
        result.add(r.getString(1));
      }
    }
    return result;
  }

  private static List<Setting> settings(Connection c) throws SQLException {
    List<Setting> result = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
        SELECT r.rolname, unnest(s.setconfig) FROM pg_db_role_setting s
          JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole
        WHERE d.datname = current_database() ORDER BY 1 NULLS FIRST, 2""")) {
      while (r.next()) {
        String[] kv = r.getString(2).split("=", 2);
        result.add(new Setting(r.getString(1), kv[0], kv.length > 1 ? kv[1] : ""));
      }
    }
    return result;
  }

  /** Roles that own the database's objects or hold privileges on them: they must exist where it is restored. */
  private static List<String> roles(Connection c) throws SQLException {
    List<String> result = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
        WITH user_ns AS (SELECT oid, nspowner, nspacl FROM pg_namespace
                         WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%'
                           AND nspname NOT LIKE 'pg_temp%')
        SELECT DISTINCT a.rolname FROM pg_roles a WHERE a.oid IN (
          SELECT nspowner FROM user_ns
          UNION SELECT relowner FROM pg_class WHERE relnamespace IN (SELECT oid FROM user_ns)
          UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM user_ns)
          UNION SELECT typowner FROM pg_type WHERE typnamespace IN (SELECT oid FROM user_ns)
          UNION SELECT (aclexplode(relacl)).grantee FROM pg_class
                 WHERE relacl IS NOT NULL AND relnamespace IN (SELECT oid FROM user_ns)
          UNION SELECT (aclexplode(nspacl)).grantee FROM user_ns WHERE nspacl IS NOT NULL)
        ORDER BY 1""")) {
      while (r.next()) {
        result.add(r.getString(1));
      }
    }
    return result;
  }

  private static String orderingSample(Connection c, String encoding) throws SQLException {
    List<String> sample = new ArrayList<>(ASCII_SAMPLE);
    if (encoding.equals("UTF8")) {
      sample.addAll(JAPANESE_SAMPLE);
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT string_agg(x, '|' ORDER BY x) FROM unnest(?::text[]) x")) {
      ps.setArray(1, c.createArrayOf("text", sample.toArray()));
      try (ResultSet r = ps.executeQuery()) {
        r.next();
        return r.getString(1);
      }
    }
  }

  /** {@code CREATE DATABASE} for a database with these properties, on a server of {@code serverMajor}. */
  String createStatement(String name, Overrides overrides, int serverMajor) {
    StringBuilder sql = new StringBuilder("CREATE DATABASE ").append(PostgresSource.quote(name))
        .append(" WITH TEMPLATE template0 ENCODING ").append(literal(encoding));
    if (overrides.locale() != null) {
      sql.append(" LC_COLLATE ").append(literal(overrides.locale())).append(" LC_CTYPE ").append(literal(overrides.locale()));
      if (serverMajor >= 15) {
        sql.append(" LOCALE_PROVIDER libc");
      }
    } else {
      sql.append(" LC_COLLATE ").append(literal(collate)).append(" LC_CTYPE ").append(literal(ctype));
      if (serverMajor >= 15) {
        sql.append(" LOCALE_PROVIDER ").append(switch (localeProvider) {
          case "i" -> "icu";
          case "b" -> "builtin";
          default -> "libc";
        });
      }
      if (icuLocale != null && !localeProvider.equals("c")) {
        sql.append(localeProvider.equals("b") ? " BUILTIN_LOCALE " : " ICU_LOCALE ").append(literal(icuLocale));
      }
      if (icuRules != null) {
        sql.append(" ICU_RULES ").append(literal(icuRules));
      }
    }
    sql.append(" OWNER ").append(PostgresSource.quote(overrides.owner() != null ? overrides.owner() : owner));
    if (!tablespace.equals("pg_default")) {
      sql.append(" TABLESPACE ").append(PostgresSource.quote(tablespace));
    }
    return sql.toString();
  }

  /**
   * What makes the new database {@code name} like the backed-up one once its data is in: settings (applied
   * last, so that e.g. a {@code statement_timeout} cannot cut the load short), privileges, comment and flags.
   * Settings of roles the server lacks are skipped (the missing-role check already refused unless overridden).
   */
  List<String> finishingStatements(String name, Set<String> existingRoles) {
    String db = PostgresSource.quote(name);
    List<String> sql = new ArrayList<>();
    for (Setting s : settings) {
      if (s.role() != null && !existingRoles.contains(s.role())) {
        continue;
      }
      sql.add((s.role() == null ? "ALTER DATABASE " + db : "ALTER ROLE " + PostgresSource.quote(s.role())
          + " IN DATABASE " + db) + " SET " + PostgresSource.quote(s.name()) + " TO " + settingValue(s));
    }
    if (!acl.isEmpty()) {
      sql.add("REVOKE ALL ON DATABASE " + db + " FROM PUBLIC");
      for (String item : acl) {
        String grant = grant(db, item, existingRoles);
        if (grant != null) {
          sql.add(grant);
        }
      }
    }
    if (comment != null) {
      sql.add("COMMENT ON DATABASE " + db + " IS " + literal(comment));
    }
    if (connectionLimit != -1) {
      sql.add("ALTER DATABASE " + db + " WITH CONNECTION LIMIT " + connectionLimit);
    }
    securityLabels.forEach((provider, label) -> sql.add("SECURITY LABEL FOR " + PostgresSource.quote(provider)
        + " ON DATABASE " + db + " IS " + literal(label)));
    return sql;
  }

  /** Flags that stop connections to the database: set last, once nothing needs to connect to it any more. */
  List<String> closingStatements(String name) {
    String db = PostgresSource.quote(name);
    List<String> sql = new ArrayList<>();
    if (!allowConnections) {
      sql.add("ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS false");
    }
    if (isTemplate) {
      sql.add("ALTER DATABASE " + db + " WITH IS_TEMPLATE true");
    }
    return sql;
  }

  /** List settings (search_path and the like) are stored as {@code a, "B c"}: each element is its own literal. */
  private static final Set<String> LIST_SETTINGS = Set.of("search_path", "temp_tablespaces",
      "session_preload_libraries", "shared_preload_libraries", "local_preload_libraries");

  /** The value of a setting being applied: read from its artifact (the manifest holds names only). */
  private static String requireValue(Setting s) {
    return java.util.Objects.requireNonNull(s.value(), () -> "setting " + s.name() + " has no value to apply");
  }

  private static String settingValue(Setting s) {
    if (!LIST_SETTINGS.contains(s.name())) {
      return literal(requireValue(s));
    }
    List<String> elements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    boolean quoted = false;
    String v = requireValue(s);
    for (int i = 0; i < v.length(); i++) {
      char ch = v.charAt(i);
      if (ch == '"') {
        if (quoted && i + 1 < v.length() && v.charAt(i + 1) == '"') {
          current.append('"');
          i++;
        } else {
          quoted = !quoted;
        }
      } else if (ch == ',' && !quoted) {
        elements.add(current.toString().strip());
        current.setLength(0);
      } else {
        current.append(ch);
      }
    }
    elements.add(current.toString().strip());
    return String.join(", ", elements.stream().map(DatabaseProperties::literal).toList());
  }

  /** {@code GRANT} for one aclitem ({@code grantee=privileges/grantor}; C create, c connect, T temporary). */
  private static @Nullable String grant(String db, String item, Set<String> existingRoles) {
    int eq = item.lastIndexOf('=', item.indexOf('/') < 0 ? item.length() : item.indexOf('/'));
    String grantee = unquoteRole(item.substring(0, eq));
    String privileges = item.substring(eq + 1, item.indexOf('/') < 0 ? item.length() : item.indexOf('/'));
    if (!grantee.isEmpty() && !existingRoles.contains(grantee)) {
      return null;
    }
    List<String> plain = new ArrayList<>();
    List<String> withOption = new ArrayList<>();
    for (int i = 0; i < privileges.length(); i++) {
      String p = switch (privileges.charAt(i)) {
        case 'C' -> "CREATE";
        case 'c' -> "CONNECT";
        case 'T' -> "TEMPORARY";
        default -> null;
      };
      boolean option = i + 1 < privileges.length() && privileges.charAt(i + 1) == '*';
      if (p != null) {
        (option ? withOption : plain).add(p);
      }
    }
    String to = grantee.isEmpty() ? "PUBLIC" : PostgresSource.quote(grantee);
    StringBuilder sql = new StringBuilder();
    if (!plain.isEmpty()) {
      sql.append("GRANT ").append(String.join(", ", plain)).append(" ON DATABASE ").append(db).append(" TO ").append(to);
    }
    if (!withOption.isEmpty()) {
      sql.append(sql.length() > 0 ? "; " : "").append("GRANT ").append(String.join(", ", withOption))
          .append(" ON DATABASE ").append(db).append(" TO ").append(to).append(" WITH GRANT OPTION");
    }
    return sql.length() == 0 ? null : sql.toString();
  }

  private static String unquoteRole(String s) {
    return s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1).replace("\"\"", "\"") : s;
  }

  static String literal(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  /**
   * Differences between these (recorded) properties and {@code restored} (before its {@link #closingStatements}),
   * ignoring what {@code overrides} changed on purpose: properties that must be equal ({@code mustMatch}) and those that may legitimately differ
   * between servers (collation version, and with it the ordering sample) as warnings.
   */
  Map<String, List<String>> compare(DatabaseProperties restored, Overrides overrides) {
    List<String> differences = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    if (overrides.owner() == null) {
      differ(differences, "owner", owner, restored.owner);
    }
    differ(differences, "encoding", encoding, restored.encoding);
    if (overrides.locale() == null) {
      differ(differences, "locale provider", localeProvider, restored.localeProvider);
      differ(differences, "collation", collate, restored.collate);
      differ(differences, "ctype", ctype, restored.ctype);
      differ(differences, "ICU locale", icuLocale, restored.icuLocale);
      differ(differences, "ICU rules", icuRules, restored.icuRules);
      differ(warnings, "collation version", collationVersion, restored.collationVersion);
      differ(warnings, "ordering of the sample strings", orderingSample, restored.orderingSample);
    }
    differ(differences, "connection limit", connectionLimit, restored.connectionLimit);
    differ(differences, "tablespace", tablespace, restored.tablespace);
    differ(differences, "comment", comment, restored.comment);
    differ(differences, "security labels", securityLabels, restored.securityLabels);
    if (overrides.owner() == null) {
      differ(differences, "settings", settings, restored.settings);
      differ(differences, "ACL", grants(acl), grants(restored.acl));
    }
    Map<String, List<String>> result = new LinkedHashMap<>();
    result.put("differences", differences);
    result.put("warnings", warnings);
    return result;
  }

  /** ACL items without their grantor (who granted differs between the backup's server and a restore). */
  private static Set<String> grants(List<String> acl) {
    Set<String> result = new TreeSet<>();
    acl.forEach(item -> result.add(item.replaceFirst("/[^/]*$", "")));
    return result;
  }

  private static void differ(List<String> out, String what, @Nullable Object expected, @Nullable Object actual) {
    if (!Objects.equals(expected, actual)) {
      out.add(what + ": backed up " + expected + ", restored " + actual);
    }
  }
}
