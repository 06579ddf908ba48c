package dev.savepoint.postgres;

import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.SourceException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one backup of a {@link PostgresSource} holds, resolved from the catalog (inside the backup's snapshot,
 * so partitions created since the plan was written are included):
 *
 * <ul>
 *   <li>{@code named}: each table the plan names, with the relations that store its rows — itself, and for a
 *       partitioned table or an inheritance parent every partition and child at any depth (unless named with
 *       {@link PostgresSource.Builder#tableOnly});
 *   <li>{@code copied}: every relation whose rows the backup holds (quoted {@code "schema"."table"});
 *   <li>{@code schemaOnly}: tables whose definition is backed up but not their rows (outside the tier, or
 *       {@code excludeTableData});
 *   <li>{@code excluded}: tables left out entirely ({@code excludeTable}, with their partitions and children);
 *   <li>{@code unreadable}: what the backup role cannot read completely (no SELECT privilege, or row-level
 *       security it does not bypass), one line per relation. A backup refuses to start unless it is empty;
 *   <li>{@code crossTier}: declared foreign keys from backed-up rows to rows of another tier (any undeclared
 *       one is refused).
 * </ul>
 */
public record BackupScope(String database, String role, Map<String, List<String>> named, List<String> copied,
    List<String> schemaOnly, List<String> excluded, List<String> unreadable, List<CrossTierReference> crossTier) {

  /** A declared foreign key from a backed-up table ({@code schema.table}) to one whose rows are left out. */
  public record CrossTierReference(String schema, String table, String constraint) {}

  /** Throws {@link SourceException} naming every relation the role cannot read completely, and the fixes. */
  public void requireReadable() throws SourceException {
    if (unreadable.isEmpty()) {
      return;
    }
    throw new SourceException("role " + role + " cannot read every row of database " + database + ", so a backup "
        + "would be incomplete: " + String.join("; ", unreadable) + ". Back up with a superuser, a role with "
        + "BYPASSRLS (ALTER ROLE " + PostgresSource.quote(role) + " BYPASSRLS) or the tables' owner (without FORCE "
        + "ROW LEVEL SECURITY), and GRANT SELECT on the relations listed; 'savepoint check --source' repeats this check");
  }

  /** A relation of the catalog: table (r), partitioned table (p) or sequence (S). */
  private record Relation(long oid, String schema, String name, char kind, boolean canSelect, boolean rlsFilters,
      List<Long> parents) {
    boolean named(String n) {
      return n.equals(name) || n.equals(schema + "." + name);
    }

    String quoted() {
      return PostgresSource.quote(schema) + "." + PostgresSource.quote(name);
    }
  }

  /**
   * Refuses (with {@link ConfigurationException}) a selection in which a table whose rows the backup holds
   * references (by foreign key) a table whose rows it leaves out: such a backup passes every check and then fails to restore
   * its constraints. Each reference is named with the two ways out; declared cross-tier references pass (a
   * tier-scoped restore checks them against the live database).
   */
  private static List<CrossTierReference> refuseCrossingReferences(Connection c, Set<Long> withRows,
      Set<Long> inScope, Map<Long, Relation> byOid, Set<String> declared) throws SQLException, ConfigurationException {
    List<String> crossing = new ArrayList<>();
    List<CrossTierReference> allowed = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(
        "SELECT conname, conrelid::bigint, confrelid::bigint FROM pg_constraint WHERE contype = 'f' AND conparentid = 0")) {
      while (r.next()) {
        long child = r.getLong(2);
        long parent = r.getLong(3);
        // Only rows that are in the backup can break a restore by pointing at rows that are not; the other
        // direction (rows left out pointing at backed-up ones) restores, and a tier-scoped restore checks it.
        Relation from = byOid.get(child);
        Relation to = byOid.get(parent);
        if (!inScope.contains(child) || !inScope.contains(parent) || !withRows.contains(child)
            || withRows.contains(parent) || from == null || to == null) {
          continue;
        }
        if (declared.contains(r.getString(1))) {
          allowed.add(new CrossTierReference(from.schema(), from.name(), r.getString(1)));
          continue;
        }
        crossing.add("constraint " + r.getString(1) + ": " + from.quoted() + " references " + to.quoted()
            + ", whose rows are left out");
      }
    }
    if (!crossing.isEmpty()) {
      throw new ConfigurationException("the backup's tables reference tables whose rows it leaves out, so it could "
          + "not be restored on its own: " + String.join("; ", crossing) + ". Add the other table to the plan's "
          + "tables, or declare the reference with crossTierReference(\"<constraint>\") (plan files: "
          + "crossTierReferences), which a tier-scoped restore checks against the live database");
    }
    return allowed;
  }

  /** Resolves {@code source}'s selection on {@code c} (which must be in the backup's snapshot, if any). */
  static BackupScope resolve(Connection c, PostgresSource.Selection selection, String database) throws SQLException,
      ConfigurationException {
    String role = PostgresSource.single(c, "SELECT current_user");
    List<Relation> all = relations(c, selection);
    for (String schema : selection.schemas()) {
      if (all.stream().noneMatch(r -> r.schema().equals(schema))) {
        throw new ConfigurationException("schema '" + schema + "' named in the plan has no tables in database "
            + database + "; check the spelling");
      }
    }
    Map<Long, List<Relation>> children = new LinkedHashMap<>();
    for (Relation r : all) {
      for (Long parent : r.parents()) {
        children.computeIfAbsent(parent, p -> new ArrayList<>()).add(r);
      }
    }
    Map<String, List<String>> named = new LinkedHashMap<>();
    Set<Relation> tier = new LinkedHashSet<>();
    for (String name : selection.tables()) {
      List<Relation> rows = expand(all, children, name, !selection.only().contains(name), database);
      tier.addAll(rows);
      named.put(name, rows.stream().filter(r -> r.kind() == 'r').map(Relation::quoted).toList());
    }
    Set<Relation> excluded = new LinkedHashSet<>();
    for (String name : selection.excludeTables()) {
      excluded.addAll(expand(all, children, name, true, database));
    }
    Set<Relation> withoutData = new LinkedHashSet<>();
    for (String name : selection.excludeTableData()) {
      withoutData.addAll(expand(all, children, name, true, database));
    }
    List<String> copied = new ArrayList<>();
    List<String> schemaOnly = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    for (Relation r : all) {
      if (excluded.contains(r)) {
        continue;
      }
      if (!r.canSelect()) {
        unreadable.add(r.quoted() + ": no SELECT privilege");
        continue;
      }
      if (r.kind() == 'S') {
        continue;
      }
      boolean rows = r.kind() == 'r' && (selection.tables().isEmpty() || tier.contains(r)) && !withoutData.contains(r);
      if (rows && r.rlsFilters()) {
        unreadable.add(r.quoted() + ": row-level security hides rows from " + role);
      }
      (rows ? copied : schemaOnly).add(r.quoted());
    }
    Set<Long> withRows = new java.util.HashSet<>();
    Set<Long> inScope = new java.util.HashSet<>();
    Map<Long, Relation> byOid = new LinkedHashMap<>();
    for (Relation r : all) {
      byOid.put(r.oid(), r);
      if (!excluded.contains(r)) {
        inScope.add(r.oid());
        // A partitioned table holds the rows of its partitions: it counts as backed up with them.
        if ((selection.tables().isEmpty() || tier.contains(r)) && !withoutData.contains(r)) {
          withRows.add(r.oid());
        }
      }
    }
    List<CrossTierReference> crossTier = refuseCrossingReferences(c, withRows, inScope, byOid,
        selection.crossTierReferences());
    return new BackupScope(database, role, named, copied, schemaOnly,
        excluded.stream().map(Relation::quoted).toList(), unreadable, crossTier);
  }

  /** {@code name}'s relations: the matching table and, if {@code withDescendants}, its partitions and children. */
  private static List<Relation> expand(List<Relation> all, Map<Long, List<Relation>> children, String name,
      boolean withDescendants, String database) throws ConfigurationException {
    List<Relation> matches = all.stream().filter(r -> r.kind() != 'S' && r.named(name)).toList();
    if (matches.isEmpty()) {
      throw new ConfigurationException("table '" + name + "' named in the plan does not exist in database " + database
          + " (or is outside the plan's schemas); check the spelling, or use schema.table");
    }
    Set<Relation> result = new LinkedHashSet<>();
    List<Relation> todo = new ArrayList<>(matches);
    while (!todo.isEmpty()) {
      Relation r = todo.remove(todo.size() - 1);
      if (result.add(r) && withDescendants) {
        todo.addAll(children.getOrDefault(r.oid(), List.of()));
      }
    }
    return List.copyOf(result);
  }

  private static List<Relation> relations(Connection c, PostgresSource.Selection selection) throws SQLException {
    List<Relation> result = new ArrayList<>();
    // RLS applies unless the role is a superuser, has BYPASSRLS, or owns the table (or is a member of its owner)
    // and the table does not FORCE it.
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
        SELECT c.oid, n.nspname, c.relname, c.relkind, has_table_privilege(c.oid, 'SELECT'),
          c.relrowsecurity AND NOT me.rolsuper AND NOT me.rolbypassrls
            AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE')),
          ARRAY(SELECT i.inhparent::bigint FROM pg_inherits i WHERE i.inhrelid = c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_roles me ON me.rolname = current_user
        WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 2, 3""")) {
      while (r.next()) {
        String schema = r.getString(2);
        if ((!selection.schemas().isEmpty() && !selection.schemas().contains(schema))
            || selection.excludeSchemas().contains(schema)) {
          continue;
        }
        Array parents = r.getArray(7);
        result.add(new Relation(r.getLong(1), schema, r.getString(3), r.getString(4).charAt(0), r.getBoolean(5),
            r.getBoolean(6), List.of((Long[]) parents.getArray())));
      }
    }
    return result;
  }
}
