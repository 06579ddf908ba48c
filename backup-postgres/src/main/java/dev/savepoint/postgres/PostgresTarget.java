package dev.savepoint.postgres;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.ArtifactRecord;
import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreException;
import dev.savepoint.core.RestoreTarget;
import dev.savepoint.core.Transform;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.postgres.internal.ParallelCopy;
import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a {@link PostgresSource} backup into a database, without ever leaving that database half-changed:
 *
 * <ol>
 *   <li>before anything changes: the roles the backup's objects need exist (or {@link Builder#owner} /
 *       {@link Builder#restoreGlobals}), and every artifact opens and its first chunk verifies (keys, signature);
 *   <li>if the database exists and holds tables, a safety backup of it is taken, protected by the restored backup's
 *       own transforms (its id is reported, also when the restore fails later) — without one configured, such a
 *       restore is refused;
 *   <li>the dump is loaded into a new scratch database created with the backed-up database's encoding, locale,
 *       owner (plain dumps with {@code psql --single-transaction -v ON_ERROR_STOP=1}, custom archives with
 *       {@code pg_restore --single-transaction --exit-on-error}, the parallel format on {@link Builder#jobs}
 *       connections); bytes reach the loaders only after their chunk digests matched;
 *   <li>every table's row count is compared with the manifest and the optional SQL checks are run; the database's
 *       settings, privileges and comment are applied and every recorded property compared;
 *   <li>only then is the scratch database renamed into place, both renames in one transaction (the previous one
 *       dropped or kept) — or, for a tier backup over an existing database ({@link Scope}), only the tier's tables
 *       are replaced, in one transaction, with every foreign key touching them checked.
 * </ol>
 *
 * Any failure drops the scratch database and leaves the target as it was; scratch databases of earlier killed
 * restores are dropped. Renaming needs the target to have no open connections: stop the application first.
 */
// Over 500 lines: the scratch-and-swap orchestration of whole-database and tier restores, with the safety backup and
// the scratch leases; loading (DumpLoader), roles and label providers (ServerRoles), verification
// (RestoreVerification), tier replacement (TierReplacement) and database properties are classes of their own.
public final class PostgresTarget implements RestoreTarget {
  private static final Logger log = LoggerFactory.getLogger(PostgresTarget.class);

  /** A SQL query whose single result must equal {@code expected}, e.g. {@code SELECT count(*) FROM users}. */
  public record Check(String sql, String expected) {}

  private final PostgresUrl url;
  private final @Nullable Repository safetyRepository;
  private final @Nullable String safetyPlan;
  private final RestoreVerification verification;
  private final DumpLoader loader;
  private final boolean keepPrevious;
  private final int jobs;
  private final @Nullable String owner;
  private final @Nullable String locale;
  private final Scope scope;
  private final boolean restoreGlobals;
  private final boolean withoutCrossTierReferences;

  /** What a restore replaces. */
  public enum Scope {
    /** A tier backup over an existing database replaces the tier's tables only; anything else, the database. */
    AUTO,
    /** The whole database (scratch database, then swapped in): tables outside a tier backup come back empty. */
    DATABASE,
    /** Only the tier's tables of the existing database, in one transaction; every other table stays as it is. */
    TIER
  }

  private PostgresTarget(Builder b) {
    this.url = b.url;
    this.safetyRepository = b.safetyRepository;
    this.safetyPlan = b.safetyPlan;
    this.verification = new RestoreVerification(b.checks);
    this.loader = new DumpLoader(b.jobs);
    this.keepPrevious = b.keepPrevious;
    this.jobs = b.jobs;
    this.owner = b.owner;
    this.locale = b.locale;
    this.scope = b.scope;
    this.restoreGlobals = b.restoreGlobals;
    this.withoutCrossTierReferences = b.withoutCrossTierReferences;
  }

  public static Builder builder(PostgresUrl url) {
    return new Builder(url);
  }

  @Override
  public String describe() {
    return url.toString();
  }

  @Override
  public Map<String, Object> restore(ArtifactReader artifacts) throws IOException {
    Manifest manifest = artifacts.manifest();
    if (!manifest.source().type().equals("postgresql")) {
      throw new RestoreException("backup " + manifest.id() + " is a '" + manifest.source().type()
          + "' backup, not a PostgreSQL one; restore it to a file: target");
    }
    PostgresUrl maintenance = url.withDatabase("postgres");
    DatabaseProperties properties = DatabaseProperties.of(artifacts);
    Map<String, Object> facts = new LinkedHashMap<>();
    Server server = inspect(maintenance);
    int serverMajor = server.major();
    boolean exists = server.exists();
    Set<String> roles = server.roles();
    boolean holdsTables = exists && hasTables();
    boolean tierBackup = manifest.source().facts().get("namedTables") != null;
    boolean tierScoped = switch (scope) {
      case TIER -> true;
      case DATABASE -> false;
      case AUTO -> tierBackup && holdsTables;
    };
    if (tierScoped) {
      if (!tierBackup) {
        throw new RestoreException("backup " + manifest.id() + " is not a tier backup (it names no tables); restore "
            + "the whole database (--scope database)");
      }
      TierReplacement.requireSuperuser(url);
    }
    List<BackupScope.CrossTierReference> crossTier = crossTierReferences(manifest);
    if (!tierScoped && !crossTier.isEmpty() && !withoutCrossTierReferences) {
      throw new RestoreException("backup " + manifest.id() + " of plan '" + manifest.plan() + "' is a tier whose rows "
          + "reference other tiers' tables (" + String.join(", ", crossTier.stream().map(
              BackupScope.CrossTierReference::constraint).toList()) + "): restored alone as a whole database it would "
          + "fail on them. Restore it with the other tiers (restore --with-tier <plan>, TierRestore), into the live "
          + "database (--scope tier), or without those constraints (PostgresTarget.Builder.withoutCrossTierReferences"
          + ", what drills do). Nothing was changed");
    }
    if (restoreGlobals) {
      facts.putAll(ServerRoles.createMissingRoles(artifacts, maintenance, roles, serverMajor));
      roles = inspect(maintenance).roles();
    }
    boolean withoutOwners = ServerRoles.refuseMissingRoles(url, owner, manifest, properties, roles);
    if (properties != null) {
      ServerRoles.refuseMissingLabelProviders(url, maintenance, properties.labelProviders());
    }
    Phases phases = new Phases();
    facts.put("phaseSeconds", phases.seconds());
    // Cheap checks before the expensive safety backup: keys, signatures and the first chunk of every artifact.
    checkReadable(artifacts);
    phases.end("check");
    if (holdsTables) {
      facts.put("safetyBackupId", takeSafetyBackup(serverMajor, artifacts.protection()));
      phases.end("safetyBackup");
    }
    dropAbandonedScratch(url, Duration.ZERO); // a live restore's is leased: never touched
    String scratch = scratchName(url.database());
    createScratch(maintenance, scratch, properties, serverMajor);
    phases.end("scratch");
    try {
      loader.load(artifacts, url.withDatabase(scratch), serverMajor, withoutOwners, crossTier, phases);
      if (!tierScoped && !crossTier.isEmpty()) {
        facts.put("crossTierReferencesLeftOut", crossTier.stream().map(BackupScope.CrossTierReference::constraint).toList());
      }
      facts.putAll(verification.verify(manifest, url.withDatabase(scratch), true));
      phases.end("verify");
      if (tierScoped) {
        // The live database stays; only the tier's tables get the verified rows of the scratch copy.
        facts.putAll(TierReplacement.run(url.withDatabase(scratch), url, manifest, RestoreVerification.expectedCounts(manifest), true));
        execute(maintenance, "DROP DATABASE " + PostgresSource.quote(scratch) + " WITH (FORCE)");
        phases.end("replaceTier");
        log.info("restored the tier of backup {} into {}", manifest.id(), url);
        return facts;
      }
      facts.put("scope", "database");
      if (properties != null) {
        facts.putAll(finish(maintenance, scratch, properties, roles, manifest));
        phases.end("properties");
      }
      swapIntoPlace(maintenance, scratch, exists, facts, properties);
      phases.end("swap");
      log.info("restored backup {} into {} ({})", manifest.id(), url, phases.seconds());
      return facts;
    } catch (IOException | RuntimeException e) {
      try {
        execute(maintenance, "DROP DATABASE IF EXISTS " + PostgresSource.quote(scratch) + " WITH (FORCE)");
      } catch (IOException dropFailure) {
        e.addSuppressed(dropFailure);
      }
      IOException reported = e instanceof IOException io ? withoutRowData(io, manifest) : null;
      nameSafetyBackup(reported != null ? reported : e, facts);
      if (reported != null) {
        throw reported;
      }
      throw e;
    } finally {
      release(scratch);
    }
  }

  /**
   * Restores the whole database from several tier backups of it — e.g. the newest of tier 1 and of tier 2 at or
   * before one time ({@link TierRestore} picks them) — and swaps it into place, with the same safety as a
   * whole-database restore. The first tier's backup, which holds the whole schema, is loaded into a scratch
   * database (its references to other tiers left out) and verified; every other tier's tables are then replaced
   * there from its own verified scratch copy; the left-out references are added back, and every foreign key
   * touching a tier's table is checked against the combined rows — rows of one tier that reference rows another
   * tier's point in time lacks fail the restore, naming the constraint. Then the user checks run, the database's
   * properties are applied and compared, and only then is the result renamed into place. Needs a superuser (the
   * tier replacement turns triggers off). The result names each tier's backup and how far apart their points in
   * time are ({@code tierSpread}). Any failure leaves the target as it was.
   */
  public Map<String, Object> restoreTiers(List<ArtifactReader> tiers) throws IOException {
    if (tiers.size() < 2) {
      throw new IllegalArgumentException("a combined restore needs the backups of at least two tiers");
    }
    Map<String, String> owners = new HashMap<>();
    List<String> allTables = new ArrayList<>();
    for (ArtifactReader t : tiers) {
      Manifest m = t.manifest();
      if (!m.source().type().equals("postgresql") || !(m.source().facts().get("namedTables") instanceof Map<?, ?> named)) {
        throw new RestoreException("backup " + m.id() + " of plan '" + m.plan() + "' is not a PostgreSQL tier backup "
            + "(it names no tables); a combined restore takes the tier backups of one database");
      }
      for (Object relations : named.values()) {
        for (Object relation : (List<?>) relations) {
          String earlier = owners.putIfAbsent(String.valueOf(relation), m.plan());
          if (earlier != null && !earlier.equals(m.plan())) {
            throw new RestoreException(relation + " is in both plan '" + earlier + "' and plan '" + m.plan()
                + "'; a combined restore takes tiers that share no table");
          }
        }
      }
      allTables.addAll(RestoreVerification.expectedCounts(m).keySet());
    }
    ArtifactReader baseTier = tiers.get(0);
    Manifest base = baseTier.manifest();
    List<BackupScope.CrossTierReference> leftOut = crossTierReferences(base);
    PostgresUrl maintenance = url.withDatabase("postgres");
    DatabaseProperties properties = DatabaseProperties.of(baseTier);
    Server server = inspect(maintenance);
    TierReplacement.requireSuperuser(maintenance);
    boolean withoutOwners = false;
    for (ArtifactReader t : tiers) {
      DatabaseProperties tierProperties = DatabaseProperties.of(t);
      withoutOwners |= ServerRoles.refuseMissingRoles(url, owner, t.manifest(), tierProperties, server.roles());
      if (tierProperties != null) {
        ServerRoles.refuseMissingLabelProviders(url, maintenance, tierProperties.labelProviders());
      }
      checkReadable(t);
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    if (server.exists() && hasTables()) {
      facts.put("safetyBackupId", takeSafetyBackup(server.major(), baseTier.protection()));
    }
    dropAbandonedScratch(url, Duration.ZERO); // a live restore's is leased: never touched
    String scratch = scratchName(url.database());
    PostgresUrl combined = url.withDatabase(scratch);
    createScratch(maintenance, scratch, properties, server.major());
    List<String> scratches = new ArrayList<>(List.of(scratch));
    try {
      loader.load(baseTier, combined, server.major(), withoutOwners, leftOut, new Phases());
      long[] checked = new long[2]; // tables, rows: every tier's verified copy
      java.util.function.Consumer<Map<String, Object>> count = v -> {
        checked[0] += dev.savepoint.postgres.internal.Facts.number(v, "tablesChecked").longValue();
        checked[1] += dev.savepoint.postgres.internal.Facts.number(v, "rowsChecked").longValue();
      };
      count.accept(verification.verify(base, combined, false));
      Map<BackupScope.CrossTierReference, String> definitions = new LinkedHashMap<>();
      for (ArtifactReader t : tiers.subList(1, tiers.size())) {
        String tierScratch = scratchName(url.database());
        createScratch(maintenance, tierScratch, DatabaseProperties.of(t), server.major());
        scratches.add(tierScratch);
        loader.load(t, url.withDatabase(tierScratch), server.major(), withoutOwners, crossTierReferences(t.manifest()), new Phases());
        count.accept(verification.verify(t.manifest(), url.withDatabase(tierScratch), false));
        // The references the base left out are in every other tier's copy (the base's tables are empty there).
        definitions.putAll(TierReplacement.foreignKeyDefinitions(url.withDatabase(tierScratch), leftOut));
        TierReplacement.run(url.withDatabase(tierScratch), combined, t.manifest(), RestoreVerification.expectedCounts(t.manifest()), false);
        execute(maintenance, "DROP DATABASE " + PostgresSource.quote(tierScratch) + " WITH (FORCE)");
        scratches.remove(tierScratch);
        release(tierScratch);
      }
      TierReplacement.addForeignKeys(combined, leftOut, definitions);
      facts.put("scope", "tiers");
      facts.put("tablesChecked", checked[0]);
      facts.put("rowsChecked", checked[1]);
      facts.put("foreignKeysChecked", TierReplacement.checkCombined(combined, allTables));
      List<String> inNoTier = tablesOutside(combined, allTables);
      if (!inNoTier.isEmpty()) {
        facts.put("emptyTablesInNoTier", inNoTier);
        log.warn("tables in none of the restored tiers come back empty: {}", inNoTier);
      }
      verification.runChecks(combined, base);
      List<Map<String, Object>> used = new ArrayList<>();
      for (ArtifactReader t : tiers) {
        Manifest m = t.manifest();
        used.add(Map.of("plan", m.plan(), "backupId", m.id(), "startedAt", m.startedAt().toString(),
            "tablesChecked", RestoreVerification.expectedCounts(m).size()));
      }
      facts.put("tiers", used);
      facts.put("tierSpread", java.time.Duration.between(
          tiers.stream().map(t -> t.manifest().startedAt()).min(Comparator.naturalOrder()).orElseThrow(),
          tiers.stream().map(t -> t.manifest().startedAt()).max(Comparator.naturalOrder()).orElseThrow()).toString());
      if (properties != null) {
        facts.putAll(finish(maintenance, scratch, properties, inspect(maintenance).roles(), base));
      }
      swapIntoPlace(maintenance, scratch, server.exists(), facts, properties);
      log.info("restored {} tier backups into {} (points in time {} apart)", tiers.size(), url, facts.get("tierSpread"));
      return facts;
    } catch (IOException | RuntimeException e) {
      for (String name : scratches) {
        try {
          execute(maintenance, "DROP DATABASE IF EXISTS " + PostgresSource.quote(name) + " WITH (FORCE)");
        } catch (IOException dropFailure) {
          e.addSuppressed(dropFailure);
        }
        release(name);
      }
      nameSafetyBackup(e, facts);
      throw e;
    } finally {
      release(scratch);
    }
  }

  /** The tables of {@code database} (quoted, as manifests name them) that are not among {@code covered}. */
  private static List<String> tablesOutside(PostgresUrl database, List<String> covered) throws RestoreException {
    List<String> result = new ArrayList<>();
    try (Connection c = database.connect(); Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
        SELECT '"' || replace(n.nspname, '"', '""') || '"."' || replace(t.relname, '"', '""') || '"'
        FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE t.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1""")) {
      while (r.next()) {
        if (!covered.contains(r.getString(1))) {
          result.add(r.getString(1));
        }
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot list the tables of " + database + ": " + e.getMessage(), e);
    }
    return result;
  }

  /** What a restore needs to know about the server first. */
  private record Server(int major, boolean exists, Set<String> roles) {}

  private Server inspect(PostgresUrl maintenance) throws RestoreException {
    try (Connection c = PostgresSource.connect(maintenance)) {
      return new Server(Integer.parseInt(PostgresSource.single(c, "SHOW server_version_num")) / 10000,
          databaseExists(c, url.database()), ServerRoles.existingRoles(c));
    } catch (SQLException | IOException e) {
      throw new RestoreException("cannot inspect " + maintenance + ": " + e.getMessage(), e);
    }
  }

  private static final java.util.regex.Pattern ROW_DATA = java.util.regex.Pattern.compile(
      "(?im)(^|\\s)(detail|context|where):.*$|line \\d+: \".*\"");

  /**
   * The error of a failed restore of an encrypted backup, without the row data PostgreSQL quotes in details and
   * contexts ("Key (email)=(…)", "COPY users, line 3: …"): the message goes to logs, the audit log, drill reports
   * and notifications, which must not hold what the backup's encryption protects. Unencrypted backups keep it.
   */
  static IOException withoutRowData(IOException e, Manifest manifest) {
    boolean encrypted = manifest.artifacts().stream().flatMap(a -> a.transforms().stream())
        .anyMatch(t -> t.name().startsWith("openpgp"));
    if (!encrypted || e.getMessage() == null || !ROW_DATA.matcher(e.getMessage()).find()) {
      return e;
    }
    String message = ROW_DATA.matcher(e.getMessage()).replaceAll("$1(details withheld: the backup is encrypted)");
    return e instanceof IntegrityException ? new IntegrityException(message) : new RestoreException(message);
  }

  /** Opens every artifact and reads its first verified chunk: a wrong key or a damaged backup fails now. */
  private static void checkReadable(ArtifactReader artifacts) throws IOException {
    for (ArtifactRecord a : artifacts.manifest().artifacts()) {
      if (a.rawBytes() == 0) {
        continue;
      }
      try (InputStream in = artifacts.open(a)) {
        in.read();
      }
    }
  }

  private void createScratch(PostgresUrl maintenance, String scratch, @Nullable DatabaseProperties properties,
      int serverMajor)
      throws RestoreException {
    try {
      leases.put(scratch, dev.savepoint.postgres.internal.ScratchLease.hold(maintenance, scratch));
    } catch (SQLException e) {
      throw new RestoreException("cannot take the lease of scratch database " + scratch + " on the server of " + url
          + ": " + e.getMessage(), e);
    }
    createLeased(maintenance, scratch, properties, serverMajor);
    // When it was begun, for cleanup --min-age; the restored database's own comment replaces it when it is finished.
    execute(maintenance, "COMMENT ON DATABASE " + PostgresSource.quote(scratch) + " IS "
        + DatabaseProperties.literal(SCRATCH_COMMENT + Instant.now()));
  }

  /** How a scratch database says when its restore began. */
  private static final String SCRATCH_COMMENT = "savepoint scratch database of a restore begun ";

  /** The leases of the scratch databases this target's restores hold now (see {@link #release}). */
  private final Map<String, dev.savepoint.postgres.internal.ScratchLease> leases =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Gives up the lease of {@code scratch}, once it is dropped or swapped into place (or the restore failed). */
  private void release(String scratch) {
    dev.savepoint.postgres.internal.ScratchLease lease = leases.remove(scratch);
    if (lease != null) {
      lease.close();
    }
  }

  private void createLeased(PostgresUrl maintenance, String scratch, @Nullable DatabaseProperties properties,
      int serverMajor)
      throws RestoreException {
    if (properties == null) { // Backups made before the database's properties were recorded.
      execute(maintenance, "CREATE DATABASE " + PostgresSource.quote(scratch) + " TEMPLATE template0 ENCODING 'UTF8'");
      return;
    }
    try {
      execute(maintenance, properties.createStatement(scratch, overrides(), serverMajor));
    } catch (RestoreException e) {
      throw new RestoreException("cannot create the database as it was backed up (encoding " + properties.encoding()
          + ", collation " + properties.collate() + (properties.icuLocale() == null ? "" : ", ICU locale "
          + properties.icuLocale()) + ", owner " + properties.owner() + ") on the server of " + url + "; nothing was "
          + "loaded. Install the locale on the server, or choose another with --locale (recorded in the report): "
          + e.getMessage(), e);
    }
  }

  private DatabaseProperties.Overrides overrides() {
    return new DatabaseProperties.Overrides(owner, locale);
  }

  /**
   * Gives the loaded database the backed-up settings, privileges and comment, then compares every property with
   * the manifest: a difference not asked for with an override fails the restore.
   */
  private Map<String, Object> finish(PostgresUrl maintenance, String scratch, DatabaseProperties properties,
      Set<String> roles, Manifest manifest) throws IOException {
    forgetScratchComment(maintenance, scratch); // the backed-up comment, if any, comes next
    for (String sql : properties.finishingStatements(scratch, roles)) {
      execute(maintenance, sql);
    }
    DatabaseProperties restored;
    try (Connection c = url.withDatabase(scratch).connect()) {
      restored = DatabaseProperties.read(c);
    } catch (SQLException e) {
      throw new RestoreException("cannot read the restored database's properties: " + e.getMessage(), e);
    }
    Map<String, List<String>> comparison = properties.compare(restored, overrides());
    if (!comparison.getOrDefault("differences", List.of()).isEmpty()) {
      throw new IntegrityException("restored database of backup " + manifest.id() + " differs from the backed-up one: "
          + String.join("; ", comparison.get("differences")));
    }
    for (String sql : properties.closingStatements(scratch)) {
      execute(maintenance, sql);
    }
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("databaseProperties", owner == null && locale == null ? "as backed up"
        : "as backed up, except" + (owner == null ? "" : " owner " + owner) + (locale == null ? "" : " locale " + locale));
    if (!comparison.getOrDefault("warnings", List.of()).isEmpty()) {
      facts.put("databaseWarnings", comparison.get("warnings"));
      log.warn("restored database of backup {}: {}", manifest.id(), comparison.get("warnings"));
    }
    return facts;
  }

  private boolean hasTables() throws IOException {
    try (Connection c = PostgresSource.connect(url)) {
      return Long.parseLong(PostgresSource.single(c, """
          SELECT count(*) FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE t.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg_toast%'""")) > 0;
    } catch (SQLException e) {
      throw new RestoreException("cannot inspect " + url + ": " + e.getMessage(), e);
    }
  }

  /**
   * In the parallel format where the server allows it (12+): during an incident, time is what counts. Stored
   * through the restored backup's own transforms (compression, encryption with the same keys), so production
   * rows are never kept less protected than the backup that replaces them; zstd for unprotected backups.
   */
  private String takeSafetyBackup(int serverMajor, List<Transform> protection) throws IOException {
    if (safetyRepository == null) {
      throw new dev.savepoint.core.TargetNotEmptyException("database " + url + " is not empty and no safety backup is configured; "
          + "configure one (the CLI does) or restore into a new database");
    }
    log.info("taking a safety backup of {} before restoring over it", url);
    PostgresSource.Format format = serverMajor >= 12 ? PostgresSource.Format.PARALLEL : PostgresSource.Format.PLAIN;
    BackupPlan.Builder plan = BackupPlan.builder(java.util.Objects.requireNonNull(safetyPlan)).tier("safety").label("reason", "pre-restore")
        .source(PostgresSource.builder(url).format(format).jobs(jobs).build())
        .repository(safetyRepository).verifier(Verifiers.presence(1));
    (protection.isEmpty() ? List.of(Transforms.zstd()) : protection).forEach(plan::transform);
    String id = plan.build().run().manifest().id();
    log.info("safety backup {} of {} stored in plan '{}'", id, url, safetyPlan);
    return id;
  }

  /** A failed restore names the safety backup it took: the operator needs the id most then. */
  private void nameSafetyBackup(Throwable failure, Map<String, Object> facts) {
    if (facts.get("safetyBackupId") != null) {
      failure.addSuppressed(new RestoreException("safety backup " + facts.get("safetyBackupId") + " of " + url
          + " is in plan '" + safetyPlan + "'"));
    }
  }

  /** A scratch database that a killed restore left behind: its name and size on disk. */
  public record AbandonedScratch(String name, long bytes) {}

  /**
   * The scratch databases of earlier restores of {@code url}'s database that were killed before they could drop
   * them ({@code <db>_sp<hex>}): no live restore holds its {@linkplain dev.savepoint.postgres.internal.ScratchLease
   * lease}, no session is connected, and its restore began more than {@code minAge} ago (as its comment says; one
   * that says nothing counts as old). {@code url} may name the database whether or not it exists.
   */
  public static List<AbandonedScratch> abandonedScratch(PostgresUrl url, Duration minAge) throws IOException {
    String base = url.database().length() > 52 ? url.database().substring(0, 52) : url.database();
    Instant cutoff = Instant.now().minus(minAge);
    List<AbandonedScratch> abandoned = new ArrayList<>();
    try (Connection c = url.withDatabase("postgres").connect(); PreparedStatement ps = c.prepareStatement("""
        SELECT d.datname, pg_database_size(d.oid), shobj_description(d.oid, 'pg_database') FROM pg_database d
        WHERE left(d.datname, length(?)) = ? AND substr(d.datname, length(?) + 1) ~ '^_sp[0-9a-f]{1,8}$'
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)""")) {
      ps.setString(1, base);
      ps.setString(2, base);
      ps.setString(3, base);
      try (ResultSet r = ps.executeQuery()) {
        while (r.next()) {
          String name = r.getString(1);
          String comment = r.getString(3);
          Instant begun = null;
          if (comment != null && comment.startsWith(SCRATCH_COMMENT)) {
            try {
              begun = Instant.parse(comment.substring(SCRATCH_COMMENT.length()));
            } catch (java.time.format.DateTimeParseException unknown) {
              // says nothing usable: old
            }
          }
          if ((begun == null || begun.isBefore(cutoff)) && !dev.savepoint.postgres.internal.ScratchLease.held(c, name)) {
            abandoned.add(new AbandonedScratch(name, r.getLong(2)));
          }
        }
      }
    } catch (SQLException e) {
      throw new RestoreException("cannot inspect the databases of " + url + ": " + e.getMessage(), e);
    }
    return abandoned;
  }

  /** Drops {@link #abandonedScratch}; returns what was dropped. */
  public static List<AbandonedScratch> dropAbandonedScratch(PostgresUrl url, Duration minAge) throws IOException {
    List<AbandonedScratch> abandoned = abandonedScratch(url, minAge);
    for (AbandonedScratch a : abandoned) {
      log.warn("dropping {}, the scratch database of an earlier restore of {} that did not finish", a.name(), url);
      execute(url.withDatabase("postgres"), "DROP DATABASE IF EXISTS " + PostgresSource.quote(a.name()));
    }
    return abandoned;
  }

  private static String scratchName(String database) {
    String suffix = "_sp" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    String base = database.length() > 63 - suffix.length() ? database.substring(0, 63 - suffix.length()) : database;
    return base + suffix;
  }

  /**
   * The backup's declared cross-tier references: a tier-scoped restore leaves them out of the scratch copy (the
   * rows they point to are in the live database, where they are checked).
   */
  private static List<BackupScope.CrossTierReference> crossTierReferences(Manifest manifest) {
    if (!(manifest.source().facts().get("crossTierReferences") instanceof List<?> recorded)) {
      return List.of();
    }
    return recorded.stream().map(r -> (Map<?, ?>) r).map(r -> new BackupScope.CrossTierReference(
        String.valueOf(r.get("schema")), String.valueOf(r.get("table")), String.valueOf(r.get("constraint")))).toList();
  }


  /** Removes the scratch database's "restore begun" comment: the restored database keeps only its own. */
  private static void forgetScratchComment(PostgresUrl maintenance, String scratch) throws IOException {
    execute(maintenance, "COMMENT ON DATABASE " + PostgresSource.quote(scratch) + " IS NULL");
  }

  private void swapIntoPlace(PostgresUrl maintenance, String scratch, boolean exists, Map<String, Object> facts,
      @Nullable DatabaseProperties properties) throws IOException {
    if (properties == null) { // a backup from before properties were recorded: no finish() cleared the comment
      forgetScratchComment(maintenance, scratch);
    }
    String target = PostgresSource.quote(url.database());
    if (exists) {
      String previous = scratchName(url.database() + "_before");
      // Both renames in one transaction: a crash between them cannot leave the application without its database.
      try (Connection c = maintenance.connect(); Statement s = c.createStatement()) {
        c.setAutoCommit(false);
        s.execute("ALTER DATABASE " + target + " RENAME TO " + PostgresSource.quote(previous));
        s.execute("ALTER DATABASE " + PostgresSource.quote(scratch) + " RENAME TO " + target);
        c.commit();
      } catch (SQLException e) {
        throw new RestoreException("cannot replace " + url + " (stop the application so it has no open "
            + "connections, then retry): " + e.getMessage(), e);
      }
      if (keepPrevious) {
        facts.put("previousDatabase", previous);
      } else {
        execute(maintenance, "DROP DATABASE " + PostgresSource.quote(previous) + " WITH (FORCE)");
      }
    } else {
      execute(maintenance, "ALTER DATABASE " + PostgresSource.quote(scratch) + " RENAME TO " + target);
    }
  }

  static void execute(PostgresUrl url, String sql) throws RestoreException {
    try (Connection c = url.connect(); Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new RestoreException(url + ": " + e.getMessage(), e);
    }
  }

  static boolean databaseExists(Connection c, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
      ps.setString(1, name);
      try (ResultSet r = ps.executeQuery()) {
        return r.next();
      }
    }
  }

  /** Options of a {@link PostgresTarget}. */
  public static final class Builder {
    private final PostgresUrl url;
    private @Nullable Repository safetyRepository;
    private @Nullable String safetyPlan;
    private final List<Check> checks = new ArrayList<>();
    private boolean keepPrevious;
    private int jobs = ParallelCopy.DEFAULT_JOBS;
    private @Nullable String owner;
    private @Nullable String locale;
    private Scope scope = Scope.AUTO;
    private boolean restoreGlobals;
    private boolean withoutCrossTierReferences;

    private Builder(PostgresUrl url) {
      this.url = Objects.requireNonNull(url);
    }

    /** Where to put the safety backup taken before restoring over a non-empty database. */
    public Builder safetyBackup(Repository repository, String plan) {
      this.safetyRepository = repository;
      this.safetyPlan = plan;
      return this;
    }

    /** Adds a check run on the restored data before it is put in place. */
    public Builder check(String sql, String expected) {
      checks.add(new Check(sql, expected));
      return this;
    }

    /** Keeps the replaced database under a new name instead of dropping it. */
    public Builder keepPrevious(boolean keep) {
      this.keepPrevious = keep;
      return this;
    }

    /**
     * How many connections load tables at once when restoring a {@link PostgresSource.Format#PARALLEL} backup,
     * and {@code pg_restore --jobs} for its indexes and constraints (default: the number of processors, at
     * least 2 and at most 4).
     */
    public Builder jobs(int jobs) {
      this.jobs = ParallelCopy.checkJobs(jobs);
      return this;
    }

    /**
     * Makes {@code role} the restored database's owner instead of the backed-up one (recorded in the report). On a
     * server that lacks the backed-up roles, archive formats (custom, parallel) then load without owners and
     * privileges, so every object belongs to the restoring role.
     */
    public Builder owner(String role) {
      this.owner = role;
      return this;
    }

    /**
     * What to replace (default {@link Scope#AUTO}): restoring the hourly tier must not empty the daily tier's
     * tables, so a tier backup over an existing database replaces the tier's tables only, unless told otherwise.
     */
    public Builder scope(Scope scope) {
      this.scope = Objects.requireNonNull(scope);
      return this;
    }

    /**
     * Before restoring, creates the roles the server lacks from the backup's globals ({@link
     * PostgresSource.Builder#withGlobals}): for a disaster restore onto a new server. Existing roles are not
     * changed; passwords are not in backups (set them afterwards).
     */
    public Builder restoreGlobals(boolean restore) {
      this.restoreGlobals = restore;
      return this;
    }

    /**
     * Restores a tier backup alone as a whole database, leaving out its declared references to other tiers' tables
     * (which are empty there), and says so in the result ({@code crossTierReferencesLeftOut}): what a drill of one
     * tier does. Without it such a restore is refused.
     */
    public Builder withoutCrossTierReferences() {
      this.withoutCrossTierReferences = true;
      return this;
    }

    /** Creates the database with this libc locale instead of the backed-up one (recorded in the report). */
    public Builder locale(String locale) {
      this.locale = locale;
      return this;
    }

    public PostgresTarget build() {
      return new PostgresTarget(this);
    }
  }

  /** Wall seconds of each phase of a restore, in order, for the report ({@code phaseSeconds}). */
  static final class Phases {
    private final Map<String, Double> seconds = new LinkedHashMap<>();
    private long start = System.nanoTime();

    /** Ends {@code phase} (and starts the next); returns its seconds. */
    double end(String phase) {
      long now = System.nanoTime();
      double s = Math.round((now - start) / 1e6) / 1e3;
      seconds.put(phase, s);
      start = now;
      return s;
    }

    Map<String, Double> seconds() {
      return seconds;
    }
  }
}
