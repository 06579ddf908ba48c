package dev.savepoint.examples;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Transform;
import dev.savepoint.core.Transforms;
import dev.savepoint.core.Verifiers;
import dev.savepoint.core.sources.BucketSource;
import dev.savepoint.core.store.Store;
import dev.savepoint.postgres.PostgresSource;
import dev.savepoint.postgres.PostgresUrl;

/**
 * How the tabletop-RPG backend describes its data tiers as Savepoint plans, in plain Java. Tier 1 (accounts,
 * live sessions, chat, AI content) is backed up hourly, tier 2 (campaign, user and system settings) daily.
 */
public final class TrpgPlans {
  private TrpgPlans() {}

  /**
   * Tier 1: the data players would lose sleep over, hourly. Session caches keep their schema but not their
   * rows. The parallel format copies the tables on several connections and restores them the same way.
   */
  public static BackupPlan tier1(PostgresUrl database, Repository repository, Transform encryption) {
    return BackupPlan.builder("trpg-tier1")
        .tier("tier1")
        .label("rpo", "PT1H")
        .source(PostgresSource.builder(database)
            .format(PostgresSource.Format.PARALLEL)
            .table("users", "game_sessions", "chat_messages_2025", "chat_messages_2026", "chat_messages",
                "ai_generated_content", "campaigns")
            .excludeTableData("session_cache")
            .build())
        .transform(Transforms.zstd())             // compress first: encrypted bytes do not compress
        .transform(encryption)                    // e.g. OpenPgpEncryption: gpg --decrypt reads it
        .repository(repository)
        .verifier(Verifiers.presence(1))          // the seed's size check; use 1 MB in production
        .verifier(Verifiers.storedDigest())
        .build();
  }

  /**
   * Uploaded files (maps, avatars) from the app's bucket — an {@code S3Store} or {@code GcsStore} on
   * {@code s3://app/uploads/} — daily and incrementally: unchanged files are not read again.
   */
  public static BackupPlan uploads(Store appUploads, Repository repository) {
    return BackupPlan.builder("trpg-uploads")
        .tier("tier2")
        .source(BucketSource.of(appUploads))
        .repository(repository)
        .verifier(Verifiers.presence(0))
        .build();
  }

  /** Tier 2: the whole database daily, as a pg_restore-able archive. */
  public static BackupPlan tier2(PostgresUrl database, Repository repository) {
    return BackupPlan.builder("trpg-tier2")
        .tier("tier2")
        .source(PostgresSource.builder(database).format(PostgresSource.Format.CUSTOM)
            .excludeTableData("session_cache").build())
        .transform(Transforms.zstd())
        .repository(repository)
        .verifier(Verifiers.presence(1))
        .build();
  }
}
