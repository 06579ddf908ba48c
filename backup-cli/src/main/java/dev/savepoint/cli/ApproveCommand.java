package dev.savepoint.cli;

import dev.savepoint.core.AuditLog;
import dev.savepoint.core.BackupSelector;
import dev.savepoint.core.Manifest;
import dev.savepoint.core.Repository;
import dev.savepoint.core.RestoreApprovals;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "approve", description = "Two-person rule for restores. 'approve --request' opens a restore "
    + "request (prints its id); 'approve <id>' approves it as SAVEPOINT_PRINCIPAL (or the OS user). "
    + "restore --approval <id> --require-approvals N then checks the quorum.")
final class ApproveCommand implements Callable<Integer> {
  @Mixin
  RepositoryOptions repo;

  @Parameters(index = "0", arity = "0..1", paramLabel = "<request-id>")
  String requestId;

  @Option(names = "--request", description = "Open a new restore request.")
  boolean request;

  @Option(names = "--plan")
  String plan;

  @Option(names = "--backup", defaultValue = "latest")
  String backup;

  @Option(names = "--to", paramLabel = "<uri>")
  String to;

  @Option(names = "--reason")
  String reason;

  @Option(names = "--valid-for", defaultValue = "PT4H", paramLabel = "<ISO duration>")
  Duration validFor;

  @Override
  public Integer call() throws Exception {
    Repository repository = repo.open();
    RestoreApprovals approvals = new RestoreApprovals(repository.store(), new AuditLog(repository.store()), 1, validFor);
    if (request) {
      if (plan == null || to == null) {
        throw new IllegalArgumentException("--request needs --plan and --to");
      }
      // Deleting a damaged backup needs a request too: it is named by id, as no manifest can be read.
      String backupId = to.equals("delete") && !backup.equals("latest") ? backup
          : repository.select(plan, BackupSelector.parse(backup)).id();
      RestoreApprovals.Request r = approvals.request(Audit.principal(), plan, backupId, Uris.redact(to), reason);
      System.out.printf("request %s: %s/%s -> %s, expires %s%n", r.id(), plan, backupId, r.target(), r.expiresAt());
      return Main.OK;
    }
    if (requestId == null) {
      throw new IllegalArgumentException("give a request id to approve, or --request to open one");
    }
    RestoreApprovals.Request r = approvals.approve(requestId, Audit.principal());
    System.out.printf("approved %s: %d approval(s) by %s%n", r.id(), r.approvers().size(), String.join(", ", r.approvers()));
    return Main.OK;
  }
}
