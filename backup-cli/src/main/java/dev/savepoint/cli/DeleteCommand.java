package dev.savepoint.cli;

import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.security.ApprovalPolicy;
import dev.savepoint.core.security.RestoreApprovals;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Removes one backup, also one whose manifest is damaged ({@code --quarantine} moves it aside instead), audited
 * and, where the policy says so, approved like a restore.
 */
@Command(name = "delete", description = "Delete one backup by id, also a damaged one (list shows DAMAGED), or move it "
    + "aside with --quarantine (under _quarantine/, restorable by hand). Audited; --require-approvals N needs a "
    + "request opened with 'approve --request --plan P --backup ID --to delete'.")
final class DeleteCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Option(names = "--plan", required = true, description = "The plan the backup belongs to.")
  String plan;

  @Parameters(index = "0", paramLabel = "<backup-id>", description = "The backup to delete.")
  String id;

  @Option(names = "--quarantine", description = "Move the backup under _quarantine/ instead of deleting it.")
  boolean quarantine;

  @Option(names = "--dry-run", description = "Only say what would be removed.")
  boolean dryRun;

  @Mixin
  Approvals.Options approvals;

  @Override
  public Integer call() throws Exception {
    Repository repository = repo.open();
    boolean intact = repository.list(plan).stream().anyMatch(m -> m.id().equals(id));
    boolean damaged = repository.damaged(plan).stream().anyMatch(d -> d.id().equals(id));
    if (!intact && !damaged) {
      throw new IllegalArgumentException("plan '" + plan + "' has no backup " + id + " (see savepoint list)");
    }
    String action = quarantine ? "quarantine" : "delete";
    if (dryRun) {
      System.out.printf("would %s %s backup %s of plan '%s'%n", action, damaged ? "damaged" : "intact", id, plan);
      return Main.OK;
    }
    // A damaged backup is named by id alone: no manifest can be read to name it by.
    Manifest intactManifest = repository.list(plan).stream().filter(m -> m.id().equals(id)).findFirst().orElse(null);
    approvals.require(repository, ApprovalPolicy.Operation.DELETE, intactManifest == null
        ? new Approvals.Subject(plan, id, null, RestoreApprovals.DELETE_TARGET)
        : Approvals.Subject.backup(plan, intactManifest, RestoreApprovals.DELETE_TARGET));
    if (quarantine) {
      int moved = repository.quarantine(plan, id);
      System.out.printf("moved backup %s of plan '%s' (%d object(s)) to %s%s/%s/%n", id, plan, moved,
          Repository.QUARANTINE, plan, id);
    } else {
      repository.deleteBackup(plan, id);
      System.out.printf("deleted backup %s of plan '%s'%n", id, plan);
    }
    Audit.record(repository, action, plan + "/" + id, "ok", Map.of("damaged", damaged));
    return Main.OK;
  }
}
