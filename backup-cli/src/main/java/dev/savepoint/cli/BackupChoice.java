package dev.savepoint.cli;

import dev.savepoint.core.BackupSelector;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code --plan <name> [<backup-id>|latest]}, shared by the commands that act on one backup. */
final class BackupChoice {
  @Option(names = "--plan", required = true, description = "The plan whose backup to use.")
  String plan;

  @Parameters(index = "0", arity = "0..1", paramLabel = "<backup-id>|latest", description = "Default: latest.")
  String backup;

  BackupSelector selector() {
    return BackupSelector.parse(backup);
  }

  /**
   * Says on stderr which backups newer than {@code chosen} were passed over as damaged — unsigned (planted, or written
   * before signing), wrongly signed, copied from elsewhere — so "latest" never quietly means "an older one".
   */
  static void warnSkipped(dev.savepoint.core.Repository repository, dev.savepoint.core.Manifest chosen)
      throws java.io.IOException {
    for (dev.savepoint.core.Repository.Damaged d : repository.damaged(chosen.plan())) {
      if (d.id().compareTo(chosen.id()) > 0) {
        System.err.println("savepoint: warning: passed over the newer backup " + d.id() + " of plan '" + d.plan()
            + "': " + d.reason());
      }
    }
  }
}
