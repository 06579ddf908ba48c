package dev.savepoint.cli;

import dev.savepoint.core.BackupPlan;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.Verifiers;
import dev.savepoint.postgres.PostgresUrl;
import dev.savepoint.postgres.pitr.BaseBackupSource;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "basebackup", description = "Take a physical base backup of a whole PostgreSQL cluster "
    + "(pg_basebackup, streamed into the repository). With the plan's WAL (wal stream or wal push) it restores to "
    + "any point in time: restore --at <time> --to pgdata:<dir>.")
final class BaseBackupCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  EncodingOptions encoding;

  @Option(names = "--plan", required = true, description = "The plan of the cluster: base backups and WAL share it.")
  String plan;

  @Option(names = "--source", required = true, paramLabel = "<postgresql-url>",
      description = "The cluster (a role with REPLICATION; any database of it).")
  String source;

  @Override
  public Integer call() throws Exception {
    java.util.List<dev.savepoint.core.Transform> transforms = encoding.transforms();
    Repository repository = repo.openForWriting(transforms);
    BackupPlan.Builder builder = BackupPlan.builder(plan).tier("physical")
        .source(new BaseBackupSource(PostgresUrl.parse(source))).repository(repository).verifier(Verifiers.presence(1));
    transforms.forEach(builder::transform);
    Manifest m = Audit.backup(repository, plan, () -> builder.build().run().manifest());
    System.out.printf("base backup %s of plan '%s' complete: %s stored, WAL %s to %s needed%n", m.id(), plan,
        Format.bytes(m.storedBytes()), m.source().facts().get("startLsn"), m.source().facts().get("stopLsn"));
    return Main.OK;
  }
}
