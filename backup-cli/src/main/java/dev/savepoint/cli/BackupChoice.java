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
   * Says on stderr which backups of the plan fail their checks — unsigned (planted, or written before signing),
   * wrongly signed, copied from elsewhere — those newer than {@code chosen} first, so that "latest" never quietly
   * means "an older one", and a repository whose own backups all fail (its id replaced?) does not pass unnoticed.
   */
  static void warnSkipped(dev.savepoint.core.Repository repository, dev.savepoint.core.Manifest chosen)
      throws java.io.IOException {
    java.util.List<dev.savepoint.core.Repository.Damaged> damaged = repository.damaged(chosen.plan());
    for (dev.savepoint.core.Repository.Damaged d : damaged) {
      if (d.id().compareTo(chosen.id()) > 0) {
        System.err.println("savepoint: warning: passed over the newer backup " + d.id() + " of plan '" + d.plan()
            + "': " + d.reason());
      }
    }
    long older = damaged.stream().filter(d -> d.id().compareTo(chosen.id()) < 0).count();
    if (older > 0) {
      System.err.println("savepoint: warning: " + older + " older backup(s) of plan '" + chosen.plan() + "' fail their "
          + "checks too (savepoint list names them)");
    }
  }
}
