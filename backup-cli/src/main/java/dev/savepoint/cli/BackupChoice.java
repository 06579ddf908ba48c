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
}
