package dev.savepoint.postgres;

import dev.savepoint.core.ArtifactReader;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Secrets;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A whole-database restore from the tier backups of one database at one point in time: the backup of each plan
 * that {@code selector} picks (e.g. {@link BackupSelector#atOrBefore}: each tier's newest at or before the time),
 * combined by {@link PostgresTarget#restoreTiers} and swapped into place. Each backup is leased while it is read.
 *
 * <pre>{@code
 * Repository.RestoreResult r = TierRestore.restore(repository, List.of("trpg-tier1", "trpg-tier2"),
 *     BackupSelector.atOrBefore(Instant.parse("2026-11-28T14:30:00Z")),
 *     PostgresTarget.builder(PostgresUrl.parse("postgresql://postgres@db:5432/trpg"))
 *         .safetyBackup(repository, "trpg-safety").build(), secrets);
 * r.facts().get("tierSpread"); // how far apart the tiers' points in time are, e.g. PT42M
 * }</pre>
 */
public final class TierRestore {
  private TierRestore() {}

  /** The backups {@code selector} picks in each of {@code plans}, in the plans' order. */
  public static List<Manifest> select(Repository repository, List<String> plans, BackupSelector selector)
      throws IOException {
    List<Manifest> chosen = new ArrayList<>();
    for (String plan : plans) {
      chosen.add(repository.select(plan, selector));
    }
    return chosen;
  }

  public static Repository.RestoreResult restore(Repository repository, List<String> plans, BackupSelector selector,
      PostgresTarget target, Secrets secrets) throws IOException {
    List<Manifest> backups = select(repository, plans, selector);
    Instant start = Instant.now();
    List<Repository.Lease> leases = new ArrayList<>();
    Map<String, Object> facts;
    try {
      List<ArtifactReader> readers = new ArrayList<>();
      for (Manifest m : backups) {
        leases.add(repository.leaseIfWritable(m, "restore to " + target.describe()));
        readers.add(repository.reader(m, secrets));
      }
      facts = target.restoreTiers(readers);
    } finally {
      for (Repository.Lease lease : leases) {
        lease.close();
      }
    }
    return new Repository.RestoreResult(String.join(",", backups.stream().map(Manifest::id).toList()),
        target.describe(), backups.stream().mapToLong(Manifest::rawBytes).sum(), Duration.between(start, Instant.now()),
        facts);
  }
}
