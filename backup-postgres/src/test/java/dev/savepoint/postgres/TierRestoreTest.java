package dev.savepoint.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.ConfigurationException;
import dev.savepoint.core.IntegrityException;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.store.FilesystemStore;
import dev.savepoint.testkit.TestPostgres;
import dev.savepoint.testkit.TrpgDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Tiers restore independently: the hourly tier comes back without touching the daily tier's tables. */
class TierRestoreTest {
  @RegisterExtension
  static TestPostgres pg = TestPostgres.shared();

  static final List<String> TIER1 = List.of("public.users", "public.chat_messages_2025", "public.chat_messages_2026",
      "public.game_sessions");
  static final List<String> TIER2 = List.of("public.campaigns", "public.ai_generated_content");

  @TempDir
  Path tmp;

  static Map<String, String> digests(String db, List<String> tables) throws SQLException {
    try (Connection c = pg.connect(db)) {
      Map<String, String> all = TrpgDatabase.tableDigests(c);
      Map<String, String> result = new TreeMap<>();
      tables.forEach(t -> result.put(t, all.get(t)));
      return result;
    }
  }

  Manifest backup(Repository repo, String plan, PostgresSource source) throws Exception {
    return BackupPlan.builder(plan).source(source).transform(Transforms.zstd()).repository(repo)
        .verifier(Verifiers.presence(1)).build().run().manifest();
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"PLAIN", "PARALLEL"})
  void eachTierRestoresIntoTheLiveDatabaseLeavingTheOtherTiersTablesAsTheyAre(PostgresSource.Format format)
      throws Exception {
    String db = pg.createDatabase("tiers");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    PostgresUrl url = PostgresUrl.parse(pg.url(db));
    // A tier whose rows reference another tier's is refused until the reference is declared.
    assertThatThrownBy(() -> PostgresSource.builder(url).table("users", "chat_messages", "game_sessions").build().scope())
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("constraint game_sessions_campaign_id_fkey")
        .hasMessageContaining("crossTierReference");
    PostgresSource tier1 = PostgresSource.builder(url).format(format).table("users", "chat_messages", "game_sessions")
        .crossTierReference("game_sessions_campaign_id_fkey").build();
    PostgresSource tier2 = PostgresSource.builder(url).format(format).table("campaigns", "ai_generated_content")
        .crossTierReference("campaigns_owner_id_fkey").build();
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest t1 = backup(repo, "tier1", tier1);
    Manifest t2 = backup(repo, "tier2", tier2);
    Map<String, String> tier1Backed = digests(db, TIER1);
    Map<String, String> tier2Backed = digests(db, TIER2);

    // The incident: tier 1 data damaged; tier 2 changed legitimately since its backup.
    pg.execute(db, "UPDATE users SET display_name = 'corrupted'", "DELETE FROM chat_messages WHERE id % 2 = 0",
        "UPDATE campaigns SET title = title || ' (edited)'");
    Map<String, String> tier2Now = digests(db, TIER2);
    assertThat(tier2Now).isNotEqualTo(tier2Backed);

    PostgresTarget target = PostgresTarget.builder(url).safetyBackup(repo, "safety").build();
    Map<String, Object> facts = repo.restore(t1, target, Secrets.none()).facts();
    assertThat(facts).containsEntry("scope", "tier").containsKey("safetyBackupId");
    assertThat(((Number) facts.get("foreignKeysChecked")).intValue()).isPositive();
    assertThat(digests(db, TIER1)).isEqualTo(tier1Backed);
    assertThat(digests(db, TIER2)).as("the other tier's tables are untouched").isEqualTo(tier2Now);

    repo.restore(t2, target, Secrets.none());
    assertThat(digests(db, TIER2)).isEqualTo(tier2Backed);
    assertThat(digests(db, TIER1)).isEqualTo(tier1Backed);

    // A tier restore that would orphan the live rows of another tier is rolled back as a whole.
    pg.execute(db, "INSERT INTO users (handle, created_at) VALUES ('newcomer', now())",
        "INSERT INTO campaigns (owner_id, title) SELECT id, 'new campaign' FROM users WHERE handle = 'newcomer'");
    Map<String, String> before = digests(db, List.of("public.users", "public.campaigns", "public.game_sessions"));
    assertThatThrownBy(() -> repo.restore(t1, target, Secrets.none())).isInstanceOf(IntegrityException.class)
        .hasMessageContaining("campaigns_owner_id_fkey").hasMessageContaining("rolled back");
    assertThat(digests(db, List.of("public.users", "public.campaigns", "public.game_sessions"))).isEqualTo(before);
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
        var r = s.executeQuery("SELECT count(*) FROM pg_database WHERE datname LIKE '" + db + "_sp%'")) {
      r.next();
      assertThat(r.getLong(1)).as("no scratch database left behind").isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(value = PostgresSource.Format.class, names = {"PLAIN", "PARALLEL"})
  void theTiersAtOneTimeCombineIntoTheWholeDatabase(PostgresSource.Format format) throws Exception {
    String db = pg.createDatabase("combined");
    try (Connection c = pg.connect(db)) {
      TrpgDatabase.create(c, 1);
    }
    PostgresUrl url = PostgresUrl.parse(pg.url(db));
    PostgresSource tier1 = PostgresSource.builder(url).format(format).table("users", "chat_messages", "game_sessions")
        .crossTierReference("game_sessions_campaign_id_fkey").build();
    PostgresSource tier2 = PostgresSource.builder(url).format(format).table("campaigns", "ai_generated_content")
        .crossTierReference("campaigns_owner_id_fkey").build();
    Repository repo = new Repository(new FilesystemStore(tmp.resolve("repo")));
    Manifest t1 = backup(repo, "tier1", tier1);
    Manifest t2 = backup(repo, "tier2", tier2);
    java.time.Instant between = java.time.Instant.now();
    PostgresFacts tier1Facts = PostgresFacts.of(t1);
    assertThat(tier1Facts.isTier()).isTrue();
    assertThat(tier1Facts.namedTables().get("chat_messages"))
        .containsExactlyInAnyOrder("\"public\".\"chat_messages_2025\"", "\"public\".\"chat_messages_2026\"");
    assertThat(tier1Facts.rowCounts()).containsEntry("\"public\".\"users\"", 100L);
    List<String> all = new java.util.ArrayList<>(TIER1);
    all.addAll(TIER2);
    Map<String, String> backedUp = digests(db, all);

    // Later: a new player and their campaign, in tier 2's next backup only.
    pg.execute(db, "INSERT INTO users (handle, created_at) VALUES ('latecomer', now())",
        "INSERT INTO campaigns (owner_id, title) SELECT id, 'late campaign' FROM users WHERE handle = 'latecomer'");
    Manifest t2later = backup(repo, "tier2", tier2);

    // One tier alone into a new database cannot hold its references to the other tier: refused before anything
    // changes, unless they are left out (as drills do).
    String alone = db + "_alone";
    assertThatThrownBy(() -> repo.restore(t1, PostgresTarget.builder(PostgresUrl.parse(pg.url(alone))).build(),
        Secrets.none())).isInstanceOf(dev.savepoint.core.RestoreException.class)
        .hasMessageContaining("game_sessions_campaign_id_fkey").hasMessageContaining("--with-tier");
    assertThat(pg.databaseExists(alone)).isFalse();
    assertThat(repo.restore(t1, PostgresTarget.builder(PostgresUrl.parse(pg.url(alone))).withoutCrossTierReferences()
        .build(), Secrets.none()).facts()).containsEntry("crossTierReferencesLeftOut",
            List.of("game_sessions_campaign_id_fkey"));
    pg.dropDatabase(alone);

    // Into a new database, as of the time between: both tiers' rows, exactly, and every key between them checked.
    String fresh = db + "_new";
    Map<String, Object> facts = TierRestore.restore(repo, List.of("tier1", "tier2"),
        dev.savepoint.core.BackupSelector.atOrBefore(between), PostgresTarget.builder(PostgresUrl.parse(pg.url(fresh)))
            .build(), Secrets.none()).facts();
    assertThat(facts).containsEntry("scope", "tiers").containsKey("tierSpread");
    assertThat(((Number) facts.get("foreignKeysChecked")).intValue()).isGreaterThanOrEqualTo(2);
    assertThat(((List<?>) facts.get("tiers")).stream().map(t -> String.valueOf(((Map<?, ?>) t).get("backupId"))))
        .containsExactly(t1.id(), t2.id());
    assertThat(digests(fresh, all)).isEqualTo(backedUp);
    assertThat(pg.single(fresh, "SELECT count(*) FROM pg_constraint WHERE conname = 'campaigns_owner_id_fkey'"))
        .as("the reference left out of the first tier's load is back").isEqualTo("1");

    // Now: tier 2's newest backup has a campaign whose owner tier 1's newest backup lacks. Refused, nothing changed.
    Map<String, String> live = digests(db, all);
    PostgresTarget target = PostgresTarget.builder(url).safetyBackup(repo, "safety").build();
    assertThatThrownBy(() -> TierRestore.restore(repo, List.of("tier1", "tier2"),
        dev.savepoint.core.BackupSelector.latest(), target, Secrets.none()))
        .isInstanceOf(IntegrityException.class).hasMessageContaining("do not fit together")
        .hasMessageContaining("campaigns_owner_id_fkey");
    assertThat(digests(db, all)).isEqualTo(live);
    assertThat(t2later).isNotNull();

    // The same tiers over the live database at the earlier time: swapped in whole, with a safety backup.
    Repository.RestoreResult over = TierRestore.restore(repo, List.of("tier2", "tier1"),
        dev.savepoint.core.BackupSelector.atOrBefore(between), target, Secrets.none());
    assertThat(over.safetyBackupId()).isPresent();
    assertThat(over.tablesChecked()).hasValue(6); // users, two chat partitions, game_sessions; campaigns, ai content
    assertThat(digests(db, all)).isEqualTo(backedUp);
    try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
        var r = s.executeQuery("SELECT count(*) FROM pg_database WHERE datname LIKE '" + db + "_sp%'")) {
      r.next();
      assertThat(r.getLong(1)).as("no scratch database left behind").isZero();
    }
  }
}
