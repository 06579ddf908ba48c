package dev.savepoint.cli;

import dev.savepoint.postgres.pitr.WalArchive;
import java.io.IOException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where the WAL commands that write (stream, push, push-server) archive: repository, plan and transforms. */
final class WalArchiveOptions {
  @Mixin
  RepositoryOptions repo;

  @Mixin
  EncodingOptions encoding;

  @Option(names = "--plan", required = true, description = "The plan of the cluster (base backups and WAL).")
  String plan;

  /** The plan's WAL archive, the repository created if it is new. */
  WalArchive archive() throws IOException {
    java.util.List<dev.savepoint.core.Transform> transforms = encoding.transforms();
    return new WalArchive(repo.openForWriting(transforms), plan, transforms);
  }
}
